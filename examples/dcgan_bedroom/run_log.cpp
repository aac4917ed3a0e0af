#include "run_log.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace dcgan {

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    const long long s = std::llround(seconds);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s / 60) % 60);
    else if (s >= 60) std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%llds", s);
    return buf;
}

RunLog::RunLog(const std::string& path, const std::string& format) : path_(path), format_(format) {
    std::error_code ec;
    const bool existing = std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) > 0;
    file_ = std::fopen(path.c_str(), "a");
    if (!file_) throw std::runtime_error("cannot write the log " + path + ": " + std::strerror(errno));
    if (!existing && format_ == "csv")
        std::fprintf(file_, "epoch,batch,iteration,loss_d,loss_g,d_x,d_g_z1,d_g_z2,images_per_s,seconds\n");
    terminal_ = ::isatty(STDERR_FILENO) == 1;
}

RunLog::~RunLog() {
    clear_status();
    if (file_) std::fclose(file_);
}

void RunLog::write(const IterationRecord& r) {
    clear_status();
    const bool g = std::isfinite(r.loss_g);
    char g_text[32] = "-", g2_text[32] = "-";
    if (g) {
        std::snprintf(g_text, sizeof g_text, "%.4f", r.loss_g);
        std::snprintf(g2_text, sizeof g2_text, "%.4f", r.d_g_z2);
    }
    std::printf("[%lld/%lld][%lld/%lld] Loss_D: %.4f Loss_G: %s D(x): %.4f D(G(z)): %.4f / %s  %.0f img/s\n",
                (long long)r.epoch, (long long)r.epochs, (long long)r.batch, (long long)r.batches, r.loss_d, g_text, r.d_x,
                r.d_g_z1, g2_text, r.images_per_second);
    std::fflush(stdout);
    if (g) {  // the files keep full precision
        std::snprintf(g_text, sizeof g_text, "%.6g", r.loss_g);
        std::snprintf(g2_text, sizeof g2_text, "%.6g", r.d_g_z2);
    }
    if (format_ == "jsonl") {
        std::fprintf(file_,
                     "{\"epoch\": %lld, \"batch\": %lld, \"iteration\": %lld, \"loss_d\": %.6g, \"loss_g\": %s, \"d_x\": %.6g, "
                     "\"d_g_z1\": %.6g, \"d_g_z2\": %s, \"images_per_s\": %.1f, \"seconds\": %.3f}\n",
                     (long long)r.epoch, (long long)r.batch, (long long)r.iteration, r.loss_d, g ? g_text : "null", r.d_x,
                     r.d_g_z1, g ? g2_text : "null", r.images_per_second, r.seconds);
    } else {
        std::fprintf(file_, "%lld,%lld,%lld,%.6g,%s,%.6g,%.6g,%s,%.1f,%.3f\n", (long long)r.epoch, (long long)r.batch,
                     (long long)r.iteration, r.loss_d, g ? g_text : "", r.d_x, r.d_g_z1, g ? g2_text : "",
                     r.images_per_second, r.seconds);
    }
    std::fflush(file_);
    char line[160];
    std::snprintf(line, sizeof line, "epoch %lld/%lld  iteration %lld/%lld  %.0f img/s  ETA %s", (long long)r.epoch + 1,
                  (long long)r.epochs, (long long)r.batch + 1, (long long)r.batches, r.images_per_second,
                  format_duration(r.eta_seconds).c_str());
    status(line);
}

void RunLog::status(const std::string& line) {
    if (!terminal_) return;
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
    status_shown_ = true;
}

void RunLog::clear_status() {
    if (!status_shown_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    status_shown_ = false;
}

}  // namespace dcgan
