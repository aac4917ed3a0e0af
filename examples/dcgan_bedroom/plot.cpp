#include "plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace dcgan {

namespace {

constexpr int64_t kWidth = 800, kHeight = 400, kLeft = 60, kRight = 20, kTop = 20, kBottom = 40;

struct Rgb {
    uint8_t r, g, b;
};
constexpr Rgb kRed{214, 39, 40}, kBlue{31, 119, 180}, kGrey{220, 220, 220}, kBlack{0, 0, 0};

// 3x5 glyphs, one row of three bits per string, top row first.
const char* glyph(char c) {
    switch (c) {
        case '0': return "111101101101111";
        case '1': return "010110010010111";
        case '2': return "111001111100111";
        case '3': return "111001111001111";
        case '4': return "101101111001001";
        case '5': return "111100111001111";
        case '6': return "111100111101111";
        case '7': return "111001001001001";
        case '8': return "111101111101111";
        case '9': return "111101111001111";
        case '.': return "000000000000010";
        case '-': return "000000111000000";
        case 'A': return "010101111101101";
        case 'D': return "110101101101110";
        case 'E': return "111100110100111";
        case 'G': return "111100101101111";
        case 'I': return "111010010010111";
        case 'L': return "100100100100111";
        case 'N': return "101111111101101";
        case 'O': return "111101101101111";
        case 'R': return "110101110101101";
        case 'S': return "011100010001110";
        case 'T': return "111010010010010";
        case '_': return "000000000000111";
        default: return "000000000000000";
    }
}

struct Canvas {
    Image image{kWidth, kHeight, 3, std::vector<uint8_t>(size_t(kWidth * kHeight * 3), 255)};
    void set(int64_t x, int64_t y, Rgb c) {
        if (x < 0 || y < 0 || x >= kWidth || y >= kHeight) return;
        uint8_t* p = image.pixels.data() + (y * kWidth + x) * 3;
        p[0] = c.r, p[1] = c.g, p[2] = c.b;
    }
    void line(int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb c, int thickness = 1) {
        const int64_t dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
        int64_t err = dx + dy;
        for (;;) {
            for (int t = 0; t < thickness; ++t) set(x0, y0 + t, c);
            if (x0 == x1 && y0 == y1) break;
            const int64_t e2 = 2 * err;
            if (e2 >= dy) err += dy, x0 += sx;
            if (e2 <= dx) err += dx, y0 += sy;
        }
    }
    // Text at scale 2 (6x10 pixels a character, 8 with spacing).
    void text(int64_t x, int64_t y, const std::string& s, Rgb c) {
        for (const char ch : s) {
            const char* g = glyph(ch);
            for (int r = 0; r < 5; ++r)
                for (int k = 0; k < 3; ++k)
                    if (g[r * 3 + k] == '1')
                        for (int a = 0; a < 2; ++a)
                            for (int b = 0; b < 2; ++b) set(x + k * 2 + a, y + r * 2 + b, c);
            x += 8;
        }
    }
};

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, v >= 100 || v == std::floor(v) ? "%.0f" : "%.2f", v);
    return buf;
}

}  // namespace

Image plot_losses(const std::vector<float>& loss_d, const std::vector<float>& loss_g) {
    Canvas canvas;
    const int64_t n = int64_t(std::max(loss_d.size(), loss_g.size()));
    double top = 0;
    for (const auto* series : {&loss_d, &loss_g})
        for (const float v : *series)
            if (std::isfinite(v)) top = std::max(top, double(v));
    top = top > 0 ? top * 1.05 : 1.0;
    const int64_t plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
    for (int k = 0; k <= 4; ++k) {  // horizontal grid lines with their values
        const int64_t y = kTop + plot_h - plot_h * k / 4;
        canvas.line(kLeft, y, kLeft + plot_w, y, kGrey);
        const std::string label = number(top * k / 4);
        canvas.text(kLeft - 8 - 8 * int64_t(label.size()), y - 5, label, kBlack);
    }
    canvas.line(kLeft, kTop, kLeft, kTop + plot_h, kBlack);
    canvas.line(kLeft, kTop + plot_h, kLeft + plot_w, kTop + plot_h, kBlack);
    canvas.text(kLeft, kTop + plot_h + 8, "0", kBlack);
    const std::string last = std::to_string(std::max<int64_t>(n, 1));
    canvas.text(kLeft + plot_w - 8 * int64_t(last.size()), kTop + plot_h + 8, last, kBlack);
    canvas.text(kLeft + plot_w / 2 - 36, kTop + plot_h + 22, "ITERATION", kBlack);

    // One point a pixel column: the mean of that column's iterations, which also smooths
    // the noisy per-iteration losses of a long run.
    for (const auto& [series, colour] : {std::pair{&loss_d, kRed}, std::pair{&loss_g, kBlue}}) {
        int64_t prev_x = -1, prev_y = 0;
        for (int64_t col = 0; col < plot_w; ++col) {
            const int64_t begin = int64_t(series->size()) * col / plot_w, end = int64_t(series->size()) * (col + 1) / plot_w;
            double sum = 0;
            int64_t count = 0;
            for (int64_t i = begin; i < end; ++i)
                if (std::isfinite((*series)[size_t(i)])) sum += (*series)[size_t(i)], ++count;
            if (count == 0) continue;
            const int64_t x = kLeft + col, y = kTop + plot_h - int64_t(std::lround(sum / double(count) / top * double(plot_h)));
            if (prev_x >= 0) canvas.line(prev_x, prev_y, x, y, colour, 2);
            else canvas.set(x, y, colour);
            prev_x = x, prev_y = y;
        }
    }
    const int64_t lx = kLeft + plot_w - 110;
    canvas.line(lx, kTop + 10, lx + 20, kTop + 10, kRed, 2);
    canvas.text(lx + 26, kTop + 5, "LOSS_D", kBlack);
    canvas.line(lx, kTop + 26, lx + 20, kTop + 26, kBlue, 2);
    canvas.text(lx + 26, kTop + 21, "LOSS_G", kBlack);
    return canvas.image;
}

void save_loss_plot(const std::vector<float>& loss_d, const std::vector<float>& loss_g, const std::string& path) {
    write_png(path, plot_losses(loss_d, loss_g));
}

}  // namespace dcgan
