// Runs body(lo, hi) over [0, n) in chunks on up to `threads` threads. The calling thread works
// too and calls poll() between its chunks; poll() returning true cancels the remaining chunks
// (the binding uses it to notice Ctrl-C). No Python here: the caller decides about the GIL.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace rfsearch {

// Hardware threads (at least 1): the most threads a batch uses.
inline int max_threads() noexcept {
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(std::min<unsigned>(hw, 1u << 16));
}

// Threads for a request: <= 0 means all hardware threads; more than that are capped to it (they
// could not run at once: the work is CPU-bound).
inline int resolve_threads(std::int64_t requested) noexcept {
    const int most = max_threads();
    return requested <= 0 ? most : static_cast<int>(std::min<std::int64_t>(requested, most));
}

// Returns false if poll() cancelled the run. If the system refuses to start a thread, the run
// goes on with the threads it has (never std::terminate): every chunk is still done.
template <class Body, class Poll>
bool run_chunked(std::int64_t n, int threads, std::int64_t chunk, Body&& body, Poll&& poll) {
    if (n <= 0) return true;
    chunk = std::max<std::int64_t>(chunk, 1);
    const std::int64_t n_chunks = (n + chunk - 1) / chunk;
    const int n_threads = static_cast<int>(std::clamp<std::int64_t>(n_chunks, 1, std::max(threads, 1)));
    std::atomic<std::int64_t> next{0};
    std::atomic<bool> stop{false};

    auto work = [&](bool is_caller) {
        for (;;) {
            if (stop.load(std::memory_order_relaxed)) return;
            const std::int64_t c = next.fetch_add(1, std::memory_order_relaxed);
            if (c >= n_chunks) return;
            body(c * chunk, std::min(n, (c + 1) * chunk));
            if (is_caller && poll()) stop.store(true, std::memory_order_relaxed);
        }
    };
    std::vector<std::thread> pool;
    try {
        pool.reserve(static_cast<std::size_t>(n_threads - 1));
        for (int t = 1; t < n_threads; ++t) pool.emplace_back(work, false);
    } catch (...) {
        // std::system_error (no more threads) or std::bad_alloc: run with the threads started.
    }
    work(true);
    for (auto& th : pool) th.join();
    return !stop.load();
}

}  // namespace rfsearch
