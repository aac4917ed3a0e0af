#include "fault_guard.h"

#include <csetjmp>
#include <csignal>
#include <mutex>

namespace dcgan {

namespace {
constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGFPE};
constexpr int kSignalCount = sizeof(kSignals) / sizeof(kSignals[0]);

std::mutex scope_mutex;
int scope_count = 0;
struct sigaction previous[kSignalCount];

// The jump target of this thread's run_guarded, or null outside one.
thread_local sigjmp_buf* current_jump = nullptr;

void on_fault(int sig, siginfo_t*, void*) {
    if (sigjmp_buf* jump = current_jump) {
        current_jump = nullptr;
        siglongjmp(*jump, sig);
    }
    // Not ours: put the earlier handler back; returning re-runs the faulting instruction under it.
    for (int i = 0; i < kSignalCount; ++i)
        if (kSignals[i] == sig) sigaction(sig, &previous[i], nullptr);
}
}  // namespace

FaultGuardScope::FaultGuardScope() {
    std::lock_guard<std::mutex> lock(scope_mutex);
    if (scope_count++ > 0) return;
    struct sigaction action {};
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < kSignalCount; ++i) sigaction(kSignals[i], &action, &previous[i]);
}

FaultGuardScope::~FaultGuardScope() {
    std::lock_guard<std::mutex> lock(scope_mutex);
    if (--scope_count > 0) return;
    for (int i = 0; i < kSignalCount; ++i) sigaction(kSignals[i], &previous[i], nullptr);
}

int run_guarded(void (*fn)(void*), void* arg) {
    sigjmp_buf jump;
    // savemask = 1: the signal mask (the fault's signal is blocked inside the handler) is
    // restored by the jump.
    if (const int sig = sigsetjmp(jump, 1)) return sig;
    current_jump = &jump;
    fn(arg);
    current_jump = nullptr;
    return 0;
}

void guarded_assert_failed() {
    if (sigjmp_buf* jump = current_jump) {
        current_jump = nullptr;
        siglongjmp(*jump, SIGABRT);
    }
}

}  // namespace dcgan
