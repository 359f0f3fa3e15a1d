// Blind spots of many stacks: the batch sources of batch.hpp (dense arrays, a layer table plus
// row ids) through reach.hpp, per stack and axis, or after every layer of every stack.
//
// An axis takes exactly the layers its fold applies (fold_stack_layer decides): it stops after
// the layer where it collapsed (that layer counts, as it does for the RF reported) and before
// the layer where it overflowed, so the blind spots always belong to the RF the batch reports.
// Values: the number of blind spots, or -1 when the RF is above the cap ("not computed").
// Inputs are checked as the receptive-field paths check them, with the same errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "batch.hpp"
#include "reach.hpp"

namespace rfsearch {

// Blind spots of stacks [lo, hi): out is (N, A), or (N, L, A) with PerLayer (row (n, l): after
// layer l, or at the stack's depth for l >= depth). Returns the first invalid input, if any.
template <bool PerLayer, class Src>
BatchError blind_spots_range(const StackSet& set, const Src& src, i64* out, i64 lo, i64 hi, i64 cap) {
    BatchError e;
    const bool sized = set.input_size != nullptr;
    const i64 L = set.n_layers, A = set.n_axes;
    StackState<i64> st, next;
    LayerParams row[default_max_axes];
    std::vector<ReachSet> reach(static_cast<std::size_t>(A), ReachSet(cap));
    auto write = [&](i64 at) {
        for (i64 a = 0; a < A; ++a) out[at * A + a] = reach[static_cast<std::size_t>(a)].blind_spots();
    };
    for (i64 n = lo; n < hi; ++n) {
        i64 depth;
        if (!detail::depth_of(set, n, depth, e) || !src.check_stack(n, depth, e)) return e;
        st.reset(static_cast<int>(A), set.input_size);
        for (auto& r : reach) r.reset();
        i64 l = 0;
        for (; l < depth; ++l) {
            bool running = false;
            for (i64 a = 0; a < A; ++a) {
                if (!st.running(static_cast<int>(a))) continue;
                running = true;
                const ReadError re = src.read(n, l, a, sized, row[a]);
                if (re.code != ParamError::none) return {n, l, a, re.code, re.field, re.value, re.value_unsigned};
            }
            if (!running) break;  // every axis stopped: later layers change nothing
            fold_stack_layer(st, row, next);
            for (i64 a = 0; a < A; ++a) {
                const auto i = static_cast<std::size_t>(a);
                if (st.status[i] == Status::ok && next.status[i] != Status::overflow)
                    reach[i].push(row[a].kernel, row[a].stride, row[a].dilation);
            }
            st = next;
            if constexpr (PerLayer) write(n * L + l);
        }
        if constexpr (PerLayer) {
            for (; l < L; ++l) write(n * L + l);
        } else {
            write(n);
        }
    }
    return e;
}

// All stacks on up to `threads` threads (<= 0: all cores), Ctrl-C polled between chunks; the
// error reported is the one with the lowest stack index, whatever the thread count. The bitsets
// allocate: an exception of a worker (std::bad_alloc) is re-thrown here, on the calling thread.
template <bool PerLayer, class Src, class Poll>
BatchOutcome blind_spots_batch(const StackSet& set, const Src& src, i64* out, i64 cap, i64 threads, Poll&& poll) {
    if (cap < 1) throw std::invalid_argument("blind spots: cap must be >= 1");
    std::mutex mu;
    std::exception_ptr failure;
    BatchOutcome outcome = detail::run_batch(set, threads, poll, [&](i64 lo, i64 hi, FastStats& stats) {
        stats.scalar_stacks += hi - lo;
        try {
            return blind_spots_range<PerLayer>(set, src, out, lo, hi, cap);
        } catch (...) {
            std::lock_guard<std::mutex> lock(mu);
            if (!failure) failure = std::current_exception();
            return BatchError{};
        }
    });
    if (failure) std::rethrow_exception(failure);
    return outcome;
}

}  // namespace rfsearch
