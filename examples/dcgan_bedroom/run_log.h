// The per-iteration record of a run: a line on stdout as pytorch/examples prints it, the
// same numbers as CSV or JSON lines in the output folder, and a live status line (epoch,
// iteration, images/s, ETA) on a terminal.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace dcgan {

struct IterationRecord {
    int64_t epoch = 0, epochs = 0, batch = 0, batches = 0, iteration = 0;
    double loss_d = 0, loss_g = 0;          // loss_g is NaN when no generator step ran (--d-steps)
    double d_x = 0, d_g_z1 = 0, d_g_z2 = 0;  // D(x); D(G(z)) before and after the G step
    double images_per_second = 0, eta_seconds = 0, seconds = 0;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

class RunLog {
public:
    // format: "csv" or "jsonl"; appends to an existing log (a resumed run), else writes a header.
    RunLog(const std::string& path, const std::string& format);
    ~RunLog();
    RunLog(const RunLog&) = delete;
    RunLog& operator=(const RunLog&) = delete;
    void write(const IterationRecord& r);  // file and stdout
    void status(const std::string& line);  // the live line, on a terminal only
    void clear_status();
    const std::string& path() const { return path_; }

private:
    std::string path_, format_;
    std::FILE* file_ = nullptr;
    bool terminal_ = false, status_shown_ = false;
};

}  // namespace dcgan
