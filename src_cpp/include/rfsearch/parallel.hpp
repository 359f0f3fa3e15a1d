// Runs body(lo, hi) over [0, n) in chunks on `threads` threads. The calling thread works too
// and calls poll() between its chunks; poll() returning true cancels the remaining chunks
// (the binding uses it to notice Ctrl-C). No Python here: the caller decides about the GIL.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace rfsearch {

inline int resolve_threads(int threads) noexcept {
    if (threads > 0) return threads;
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(hw);
}

// Returns false if poll() cancelled the run.
template <class Body, class Poll>
bool run_chunked(std::int64_t n, int threads, std::int64_t chunk, Body&& body, Poll&& poll) {
    if (n <= 0) return true;
    chunk = std::max<std::int64_t>(chunk, 1);
    const std::int64_t n_chunks = (n + chunk - 1) / chunk;
    const int n_threads = static_cast<int>(std::min<std::int64_t>(resolve_threads(threads), n_chunks));
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
    pool.reserve(static_cast<std::size_t>(n_threads - 1));
    for (int t = 1; t < n_threads; ++t) pool.emplace_back(work, false);
    work(true);
    for (auto& th : pool) th.join();
    return !stop.load();
}

}  // namespace rfsearch
