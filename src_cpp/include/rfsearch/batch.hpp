// Scoring many candidate stacks at once: each stack is up to L layers on A axes, read from
// strided arrays (any integer type; stride 0 means a broadcast value, so defaults cost no
// memory). Results are written as structure-of-arrays, one row per (stack, axis).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <algorithm>
#include <iterator>
#include <mutex>

#include "batch_fast.hpp"
#include "fold.hpp"
#include "parallel.hpp"

namespace rfsearch {

// A read-only view of an (N, L, A) array; strides are in elements and may be 0 or negative.
template <class T>
struct Strided3 {
    const T* data = nullptr;
    std::ptrdiff_t sn = 0, sl = 0, sa = 0;
    const T& at(i64 n, i64 l, i64 a) const noexcept {
        return data[n * sn + l * sl + a * sa];
    }
};

// Which input field a parameter error refers to (mirrors the Python names).
enum class Field : std::uint8_t { kernel, stride, dilation, padding, padding_after, depth };

template <class T, class D>
struct StackBatch {
    Strided3<T> kernel, stride, dilation, pad_before, pad_after;
    Strided3<std::uint8_t> ceil_mode;   // numpy bool
    const D* depth = nullptr;           // (N,) or null: every stack uses all L layers
    std::ptrdiff_t depth_stride = 1;
    const i64* input_size = nullptr;    // (A,) or null: sizes unknown
    i64 n_stacks = 0, n_layers = 0, n_axes = 0;
};

// Outputs, each C-contiguous (N, A).
struct StackResults {
    i64* rf;
    i64* jump;
    i64* padding;
    i64* size;
    std::uint8_t* status;  // Fold::ok, Fold::collapsed or Fold::overflow
};

// The first invalid parameter found; stack < 0 means none.
struct BatchError {
    i64 stack = -1, layer = -1, axis = -1;
    Fold code = Fold::ok;
    Field field = Field::kernel;
    i64 value = 0;
    bool value_too_large = false;  // an unsigned value above the int64 range
};

namespace detail {
template <class T>
inline bool to_i64(T v, i64& out) noexcept {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(i64)) {
        if (v > static_cast<T>(std::numeric_limits<i64>::max())) return false;
    }
    out = static_cast<i64>(v);
    return true;
}

inline Field field_of(Fold f) noexcept {
    switch (f) {
        case Fold::bad_stride: return Field::stride;
        case Fold::bad_dilation: return Field::dilation;
        case Fold::bad_padding: return Field::padding;
        case Fold::bad_padding_after: return Field::padding_after;
        case Fold::same_needs_size: return Field::padding;
        default: return Field::kernel;
    }
}
}  // namespace detail

// The first field of layer l that does not fit int64 (only possible for uint64 arrays).
template <class T, class D>
BatchError too_large(const StackBatch<T, D>& b, i64 n, i64 l, i64 a) noexcept {
    const Strided3<T>* fields[5] = {&b.kernel, &b.stride, &b.dilation, &b.pad_before, &b.pad_after};
    i64 ignored;
    int f = 0;
    while (f < 4 && detail::to_i64(fields[f]->at(n, l, a), ignored)) ++f;
    return {n, l, a, Fold::bad_kernel, static_cast<Field>(f), 0, true};
}

// Scores stacks [lo, hi) one at a time with fold_layer: the exact path, and the oracle the
// fast path is tested against. Returns at the first invalid parameter (results of that stack
// and later ones in the range are then unspecified).
template <class T, class D>
BatchError score_range_scalar(const StackBatch<T, D>& b, const StackResults& r, i64 lo, i64 hi) noexcept {
    BatchError err;
    const bool sized = b.input_size != nullptr;
    for (i64 n = lo; n < hi; ++n) {
        i64 depth = b.n_layers;
        if (b.depth) {
            const D d = b.depth[n * b.depth_stride];
            if (d < 0 || static_cast<i64>(d) > b.n_layers) {
                err.stack = n;
                err.field = Field::depth;
                err.value = static_cast<i64>(d);
                err.code = Fold::bad_kernel;  // any param error code; field says what
                return err;
            }
            depth = static_cast<i64>(d);
        }
        for (i64 a = 0; a < b.n_axes; ++a) {
            // Walk this stack's row with one pointer per field (no index arithmetic per read).
            const T* in[5] = {&b.kernel.at(n, 0, a), &b.stride.at(n, 0, a), &b.dilation.at(n, 0, a),
                              &b.pad_before.at(n, 0, a), &b.pad_after.at(n, 0, a)};
            const std::ptrdiff_t step[5] = {b.kernel.sl, b.stride.sl, b.dilation.sl, b.pad_before.sl,
                                            b.pad_after.sl};
            const std::uint8_t* ceil = &b.ceil_mode.at(n, 0, a);
            AxisState s;
            if (sized) s.size = b.input_size[a];
            Fold status = Fold::ok;
            for (i64 l = 0; l < depth; ++l) {
                LayerParams p;
                bool fits = detail::to_i64(in[0][l * step[0]], p.kernel);
                fits &= detail::to_i64(in[1][l * step[1]], p.stride);
                fits &= detail::to_i64(in[2][l * step[2]], p.dilation);
                fits &= detail::to_i64(in[3][l * step[3]], p.pad_before);
                fits &= detail::to_i64(in[4][l * step[4]], p.pad_after);
                p.ceil_mode = ceil[l * b.ceil_mode.sl] != 0;
                if (!fits) return too_large(b, n, l, a);
                Fold f = check_params(p);
                if (f == Fold::ok) f = fold_layer(s, p, sized);
                if (f != Fold::ok) {
                    if (is_param_error(f)) {
                        const Field field = detail::field_of(f);
                        const i64 values[5] = {p.kernel, p.stride, p.dilation, p.pad_before, p.pad_after};
                        return {n, l, a, f, field, values[static_cast<int>(field)], false};
                    }
                    status = f;
                    break;
                }
            }
            const i64 o = n * b.n_axes + a;
            r.rf[o] = s.rf;
            r.jump[o] = s.jump;
            r.padding[o] = s.padding;
            r.size[o] = sized ? s.size : 0;
            r.status[o] = static_cast<std::uint8_t>(status);
        }
    }
    return err;
}

namespace detail {
// One field's values for the block being scored, in block order (stack-major, `layers` per
// stack) as fast::pack_layers reads them: in place when the array already has that layout
// (C-contiguous (N, L)), else copied here; a broadcast value is filled in once.
template <class V>
class BlockField {
public:
    const V* load(const Strided3<V>& v, i64 n, i64 l0, i64 layers, i64 a, i64 n_layers) noexcept {
        const V* first = &v.at(n, l0, a);
        if (v.sl == 1 && v.sn == n_layers && layers == n_layers) return first;
        if (v.sn == 0 && v.sl == 0) {
            if (!has_constant_ || constant_ != *first) {
                std::fill(std::begin(stage_), std::end(stage_), *first);
                constant_ = *first;
                has_constant_ = true;
            }
            return stage_;
        }
        has_constant_ = false;
        for (i64 j = 0; j < fast::block_stacks; ++j)
            for (i64 l = 0; l < layers; ++l) stage_[j * layers + l] = first[j * v.sn + l * v.sl];
        return stage_;
    }

private:
    alignas(64) V stage_[fast::block_stacks * fast::segment_layers];
    V constant_{};
    bool has_constant_ = false;
};

inline bool same_view(const void* a, std::ptrdiff_t an, std::ptrdiff_t al, std::ptrdiff_t aa, const void* b,
                      std::ptrdiff_t bn, std::ptrdiff_t bl, std::ptrdiff_t ba) noexcept {
    return a == b && an == bn && al == bl && aa == ba;
}
}  // namespace detail

// Scores stacks [lo, hi): same results and errors as score_range_scalar, faster. Full blocks
// of fast::block_stacks stacks go through the lockstep fast path (batch_fast.hpp); a block
// with any value outside its limits (invalid values included), or that could overflow, is
// re-run by score_range_scalar, which then also reports the error exactly.
template <class T, class D>
BatchError score_range(const StackBatch<T, D>& b, const StackResults& r, i64 lo, i64 hi) noexcept {
    constexpr i64 B = fast::block_stacks;
    const bool sized = b.input_size != nullptr;
    const i64 L = b.n_layers, A = b.n_axes;
    bool usable = L > 0 && A > 0 && hi - lo >= B;
    for (i64 a = 0; usable && sized && a < A; ++a) usable = b.input_size[a] <= fast::max_input_size;
    if (!usable) return score_range_scalar(b, r, lo, hi);

    const i64 segment = std::min(L, fast::segment_layers);
    const bool same_padding = detail::same_view(b.pad_before.data, b.pad_before.sn, b.pad_before.sl, b.pad_before.sa,
                                                b.pad_after.data, b.pad_after.sn, b.pad_after.sl, b.pad_after.sa);
    detail::BlockField<T> kernel, stride, dilation, pad_before, pad_after;
    detail::BlockField<std::uint8_t> ceil;
    fast::BlockState st;
    alignas(64) fast::u64 packed[B * fast::segment_layers];
    alignas(64) std::uint8_t active[B * fast::segment_layers];

    // Scores block [n, n + B) on the fast path; false if it has to go to the scalar path.
    auto fast_block = [&](i64 n) {
        i64 depth[B];
        i64 max_depth = L;
        if (b.depth) {
            max_depth = 0;
            for (i64 j = 0; j < B; ++j) {
                const D d = b.depth[(n + j) * b.depth_stride];
                if (d < 0 || static_cast<i64>(d) > L) return false;  // the scalar path reports it
                depth[j] = static_cast<i64>(d);
                max_depth = std::max(max_depth, depth[j]);
            }
        }
        for (i64 a = 0; a < A; ++a) {
            st.reset(sized ? b.input_size[a] : 1);
            for (i64 l0 = 0; l0 < max_depth; l0 += segment) {
                const i64 layers = std::min(segment, L - l0);
                const std::uint8_t* used = nullptr;  // null: every layer is used
                if (b.depth) {
                    for (i64 j = 0; j < B; ++j)
                        for (i64 l = 0; l < layers; ++l) active[j * layers + l] = l0 + l < depth[j];
                    used = active;
                }
                const T* p = pad_before.load(b.pad_before, n, l0, layers, a, L);
                const T* q = same_padding ? p : pad_after.load(b.pad_after, n, l0, layers, a, L);
                if (!fast::pack_layers(kernel.load(b.kernel, n, l0, layers, a, L),
                                       stride.load(b.stride, n, l0, layers, a, L),
                                       dilation.load(b.dilation, n, l0, layers, a, L), p, q,
                                       ceil.load(b.ceil_mode, n, l0, layers, a, L), used, packed, B * layers))
                    return false;
                fast::fold_block(packed, std::min(layers, max_depth - l0), sized, st);
            }
            const i64 o = n * A + a;
            if (!fast::store_block(st, sized, A, r.rf + o, r.jump + o, r.padding + o, r.size + o, r.status + o))
                return false;
        }
        return true;
    };

    // Blocks off the fast path tend to come in runs (PAD_SAME or huge values everywhere): after
    // k misses in a row, the next 2^k - 1 blocks (at most 63) skip the attempt.
    int misses = 0;
    i64 skip = 0;
    i64 n = lo;
    for (; n + B <= hi; n += B) {
        if (skip > 0) {
            --skip;
        } else if (fast_block(n)) {
            misses = 0;
            continue;
        } else {
            skip = (i64{1} << std::min(misses++, 6)) - 1;
        }
        const BatchError e = score_range_scalar(b, r, n, n + B);
        if (e.stack >= 0) return e;
    }
    return n < hi ? score_range_scalar(b, r, n, hi) : BatchError{};
}

// Stacks per chunk: about 64k layer folds, so a chunk takes well under a millisecond and
// Ctrl-C is noticed quickly, while thread hand-off costs stay negligible.
inline i64 chunk_stacks(i64 n_layers, i64 n_axes) noexcept {
    const i64 per_stack = std::max<i64>(1, n_layers * n_axes);
    return std::max<i64>(64, (i64{1} << 16) / per_stack);
}

struct BatchOutcome {
    BatchError error;        // the invalid parameter with the lowest stack index, if any
    bool cancelled = false;  // poll() asked to stop
};

// Scores all stacks on `threads` threads (<= 0: all cores). Deterministic: the error
// reported is always the one with the lowest stack index, whatever the thread count.
template <class T, class D, class Poll>
BatchOutcome score_batch(const StackBatch<T, D>& b, const StackResults& r, int threads, Poll&& poll) {
    std::mutex mu;
    BatchError first;
    std::atomic<i64> first_stack{std::numeric_limits<i64>::max()};
    auto body = [&](i64 lo, i64 hi) {
        if (lo > first_stack.load(std::memory_order_relaxed)) return;  // an earlier error wins
        const BatchError e = score_range(b, r, lo, hi);
        if (e.stack < 0) return;
        std::lock_guard<std::mutex> lock(mu);
        if (first.stack < 0 || e.stack < first.stack) {
            first = e;
            first_stack.store(e.stack, std::memory_order_relaxed);
        }
    };
    BatchOutcome out;
    out.cancelled = !run_chunked(b.n_stacks, threads, chunk_stacks(b.n_layers, b.n_axes), body, poll);
    out.error = first;
    return out;
}

}  // namespace rfsearch
