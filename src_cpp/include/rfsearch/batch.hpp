// Many stacks at once. A batch is N stacks of up to L layers on A axes, given either
//   densely: (N, L, A) parameter arrays (DenseLayers), or
//   by id:   an (N, L) matrix of row ids into a table of T distinct layers (IdLayers; the
//            table is validated and packed once per batch, PreparedTable),
// plus an optional depth (N,) per stack and optional input sizes (A,). Arrays are read in
// place through byte-strided views (any strides, zero for broadcast values, negative,
// unaligned, strides that are not a multiple of the item size, as numpy record fields have).
//
// Every path folds with fold_stack_layer (fold.hpp), layer by layer over all axes:
//   score_range_scalar  the exact path and the oracle of the fast path;
//   score_range         full blocks of 16 stacks through the SIMD fast path (batch_fast.hpp),
//                       any block it cannot do exactly re-run by the scalar path;
//   fold_range_layers   the state after every layer of every stack (per-layer mode: one
//                       network in O(L)), as (N, L, A) arrays;
//   score_batch / fold_batch_layers: the same over threads, lowest-index error first.
//
// Errors (the first invalid input of the lowest-index stack): a depth outside [0, L]; then any
// id within the stack's depth that is not a table row; then, layer by layer, the first axis
// (still running: not collapsed or overflowed) whose parameters check_params refuses.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "batch_fast.hpp"
#include "fold.hpp"
#include "parallel.hpp"

namespace rfsearch {

// --- views ---------------------------------------------------------------------------------

// Reads a T at any address (memcpy: no alignment needed; a plain load on the usual targets).
template <class T>
inline T load(const char* p) noexcept {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// A read-only (N, L, A) view; strides in bytes, of any sign, 0 for a broadcast dimension.
template <class T>
struct Strided3 {
    const char* data = nullptr;
    std::ptrdiff_t sn = 0, sl = 0, sa = 0;
    const char* ptr(i64 n, i64 l, i64 a) const noexcept { return data + n * sn + l * sl + a * sa; }
    T at(i64 n, i64 l, i64 a) const noexcept { return load<T>(ptr(n, l, a)); }
};

// A read-only 2-D view (ids (N, L), table columns (T, A)); strides in bytes.
template <class T>
struct Strided2 {
    const char* data = nullptr;
    std::ptrdiff_t s0 = 0, s1 = 0;
    T at(i64 i, i64 j) const noexcept { return load<T>(data + i * s0 + j * s1); }
};

// Integer element types of type-erased views.
enum class IntKind : std::uint8_t { i8, i16, i32, i64, u8, u16, u32, u64 };

// Converts to int64; false if an unsigned value is above the int64 range (out then holds its bits).
template <class T>
inline bool to_i64(T v, i64& out) noexcept {
    out = static_cast<i64>(v);
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(i64)) return v <= static_cast<T>(checked::max);
    return true;
}

// A 1-D integer array of any integer type (depth): one switch per read, once per stack.
struct AnyInts {
    const char* data = nullptr;  // null: absent
    std::ptrdiff_t stride = 0;   // bytes
    IntKind kind = IntKind::i64;
    bool get(i64 i, i64& out) const noexcept {
        const char* p = data + i * stride;
        switch (kind) {
            case IntKind::i8: return to_i64(load<std::int8_t>(p), out);
            case IntKind::i16: return to_i64(load<std::int16_t>(p), out);
            case IntKind::i32: return to_i64(load<std::int32_t>(p), out);
            case IntKind::i64: return to_i64(load<std::int64_t>(p), out);
            case IntKind::u8: return to_i64(load<std::uint8_t>(p), out);
            case IntKind::u16: return to_i64(load<std::uint16_t>(p), out);
            case IntKind::u32: return to_i64(load<std::uint32_t>(p), out);
            case IntKind::u64: return to_i64(load<std::uint64_t>(p), out);
        }
        out = 0;
        return false;
    }
};

// --- batch shape, results, errors ----------------------------------------------------------

// What every batch has, whatever the layer source.
struct StackSet {
    i64 n_stacks = 0, n_layers = 0, n_axes = 0;  // n_axes in [1, default_max_axes]
    const i64* input_size = nullptr;             // (A,) values >= 1, or null: sizes unknown
    AnyInts depth;                               // (N,) or absent: every stack has L layers
};

// Outputs, each C-contiguous: (N, A) for scoring, (N, L, A) for the per-layer mode.
struct StackResults {
    i64* rf;
    i64* jump;
    i64* padding;
    i64* size;             // 0 when sizes are unknown
    std::uint8_t* status;  // Status
};

// The first invalid input found; stack < 0 means none.
struct BatchError {
    i64 stack = -1, layer = -1, axis = -1;  // layer / axis -1: not about one layer / axis
    ParamError code = ParamError::none;
    Field field = Field::kernel;
    i64 value = 0;
    bool value_unsigned = false;  // value holds the bits of a uint64 above the int64 range
    bool any() const noexcept { return stack >= 0; }
};

// Counts of how stacks were scored (tests check that the fast path really ran).
struct FastStats {
    i64 fast_blocks = 0;    // blocks of fast::block_stacks stacks done by the fast path
    i64 scalar_reruns = 0;  // blocks the fast path tried and handed to the scalar path
    i64 scalar_stacks = 0;  // stacks done by the scalar path (re-runs, skipped blocks, tails)
    void add(const FastStats& o) noexcept {
        fast_blocks += o.fast_blocks;
        scalar_reruns += o.scalar_reruns;
        scalar_stacks += o.scalar_stacks;
    }
};

namespace detail {
// Depth of stack n (L without a depth array); false with `e` set if it is outside [0, L].
inline bool depth_of(const StackSet& set, i64 n, i64& depth, BatchError& e) noexcept {
    if (!set.depth.data) {
        depth = set.n_layers;
        return true;
    }
    const bool fits = set.depth.get(n, depth);
    if (fits && depth >= 0 && depth <= set.n_layers) return true;
    e = {n, -1, -1, ParamError::depth_out_of_range, Field::depth, depth, !fits};
    return false;
}

template <class Num, int M>
inline void write_state(const StackState<Num, M>& st, const StackResults& r, i64 row, i64 n_axes) noexcept {
    for (i64 a = 0; a < n_axes; ++a) {
        const auto i = static_cast<std::size_t>(a);
        const i64 o = row * n_axes + a;
        r.rf[o] = st.axis[i].rf;
        r.jump[o] = st.axis[i].jump;
        r.padding[o] = st.axis[i].padding;
        r.size[o] = st.sized ? st.axis[i].size : 0;
        r.status[o] = static_cast<std::uint8_t>(st.status[i]);
    }
}
}  // namespace detail

// --- layer sources -------------------------------------------------------------------------

// Reading one layer's parameters is all a source does for the scalar path: read(n, l, a)
// fills `p`, or returns the error with its field and value.
struct ReadError {
    ParamError code = ParamError::none;
    Field field = Field::kernel;
    i64 value = 0;
    bool value_unsigned = false;
};

// Dense (N, L, A) parameter arrays of one integer type T.
template <class T>
struct DenseLayers {
    Strided3<T> kernel, stride, dilation, pad_before, pad_after;
    Strided3<std::uint8_t> ceil_mode;  // numpy bool

    bool check_stack(i64, i64, BatchError&) const noexcept { return true; }

    ReadError read(i64 n, i64 l, i64 a, bool sized, LayerParams& p) const noexcept {
        const Strided3<T>* fields[5] = {&kernel, &stride, &dilation, &pad_before, &pad_after};
        i64* out[5] = {&p.kernel, &p.stride, &p.dilation, &p.pad_before, &p.pad_after};
        for (int f = 0; f < 5; ++f)
            if (!to_i64(fields[f]->at(n, l, a), *out[f]))
                return {ParamError::too_large, static_cast<Field>(f), *out[f], true};
        p.ceil_mode = ceil_mode.at(n, l, a) != 0;
        const ParamError e = check_params(p, sized);
        if (e == ParamError::none) return {};
        return {e, field_of(e), error_value(p, e), false};
    }
};

// A table of T distinct layers on A axes, validated and packed once per batch: each (row,
// axis) keeps its parameters, its check_params error and its fast-path word.
struct PreparedTable {
    struct Row {
        LayerParams p;
        ReadError error;
    };
    i64 n_rows = 0, n_axes = 0;
    std::vector<Row> rows;         // (T, A)
    std::vector<fast::u64> words;  // (A, T): fast::pack_one's word, or pack::not_fast if the row is
                                   // invalid or outside the fast path's limits

    const Row& row(i64 t, i64 a) const noexcept { return rows[static_cast<std::size_t>(t * n_axes + a)]; }
    const fast::u64* axis_words(i64 a) const noexcept { return words.data() + a * n_rows; }
};

// Reads and validates a table given as (T, A) columns of one integer type; `sized` as for
// check_params. Allocates: call it with the GIL held or not, but before the batch.
template <class T>
PreparedTable prepare_table(const Strided2<T>& kernel, const Strided2<T>& stride, const Strided2<T>& dilation,
                            const Strided2<T>& pad_before, const Strided2<T>& pad_after,
                            const Strided2<std::uint8_t>& ceil_mode, i64 n_rows, i64 n_axes, bool sized) {
    PreparedTable t;
    t.n_rows = n_rows;
    t.n_axes = n_axes;
    const auto cells = static_cast<std::size_t>(n_rows * n_axes);
    t.rows.resize(cells);
    t.words.assign(cells, fast::pack::not_fast);
    const Strided3<T> k{kernel.data, 0, kernel.s0, kernel.s1}, s{stride.data, 0, stride.s0, stride.s1},
        d{dilation.data, 0, dilation.s0, dilation.s1}, p{pad_before.data, 0, pad_before.s0, pad_before.s1},
        q{pad_after.data, 0, pad_after.s0, pad_after.s1};
    const DenseLayers<T> dense{k, s, d, p, q, {ceil_mode.data, 0, ceil_mode.s0, ceil_mode.s1}};
    for (i64 r = 0; r < n_rows; ++r)
        for (i64 a = 0; a < n_axes; ++a) {
            auto& row = t.rows[static_cast<std::size_t>(r * n_axes + a)];
            row.error = dense.read(0, r, a, sized, row.p);
            fast::u64 word;
            if (row.error.code == ParamError::none && fast::pack_one(row.p, word))
                t.words[static_cast<std::size_t>(a * n_rows + r)] = word;
        }
    return t;
}

// Stacks as an (N, L) matrix of row ids (integer type I) into a PreparedTable.
template <class I>
struct IdLayers {
    Strided2<I> ids;
    const PreparedTable* table = nullptr;

    // Every id within the stack's depth must be a row of the table, whatever happens later.
    bool check_stack(i64 n, i64 depth, BatchError& e) const noexcept {
        for (i64 l = 0; l < depth; ++l) {
            i64 id;
            const bool fits = to_i64(ids.at(n, l), id);
            if (!fits || id < 0 || id >= table->n_rows) {
                e = {n, l, -1, ParamError::id_out_of_range, Field::ids, id, !fits};
                return false;
            }
        }
        return true;
    }
    ReadError read(i64 n, i64 l, i64 a, bool, LayerParams& p) const noexcept {
        const auto& row = table->row(static_cast<i64>(ids.at(n, l)), a);  // checked by check_stack
        p = row.p;
        return row.error;
    }
};

// --- the scalar path -----------------------------------------------------------------------

// Folds stacks [lo, hi) one at a time, layer by layer over all axes, with fold_stack_layer.
// PerLayer: r is (N, L, A) and row (n, l) receives the state after layer l (the state at the
// stack's depth for l >= depth: what the stack cut after l + 1 layers gives); else r is (N, A).
// Returns at the first error (results of that stack and later ones are then unspecified).
template <bool PerLayer, class Src>
BatchError fold_range_scalar(const StackSet& set, const Src& src, const StackResults& r, i64 lo, i64 hi) noexcept {
    BatchError e;
    const bool sized = set.input_size != nullptr;
    const i64 L = set.n_layers, A = set.n_axes;
    StackState<i64> st;
    LayerParams row[default_max_axes];
    for (i64 n = lo; n < hi; ++n) {
        i64 depth;
        if (!detail::depth_of(set, n, depth, e) || !src.check_stack(n, depth, e)) return e;
        st.reset(static_cast<int>(A), set.input_size);
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
            fold_stack_layer(st, row, st);
            if constexpr (PerLayer) detail::write_state(st, r, n * L + l, A);
        }
        if constexpr (PerLayer) {
            for (; l < L; ++l) detail::write_state(st, r, n * L + l, A);
        } else {
            detail::write_state(st, r, n, A);
        }
    }
    return e;
}

template <class Src>
BatchError score_range_scalar(const StackSet& set, const Src& src, const StackResults& r, i64 lo, i64 hi) noexcept {
    return fold_range_scalar<false>(set, src, r, lo, hi);
}

// --- the fast path -------------------------------------------------------------------------

namespace detail {
// One field's values for the block being scored, in block order (stack-major, `layers` per
// stack) as fast::pack_layers reads them: in place when the array already has that layout
// (C-contiguous (N, L), aligned), else copied here; a broadcast value is filled in once.
template <class V>
class BlockField {
public:
    const V* load(const Strided3<V>& v, i64 n, i64 l0, i64 layers, i64 a, i64 n_layers) noexcept {
        const char* first = v.ptr(n, l0, a);
        constexpr auto item = static_cast<std::ptrdiff_t>(sizeof(V));
        if (v.sl == item && v.sn == n_layers * item && layers == n_layers &&
            reinterpret_cast<std::uintptr_t>(first) % alignof(V) == 0)
            return reinterpret_cast<const V*>(first);
        if (v.sn == 0 && v.sl == 0) {
            const V value = rfsearch::load<V>(first);
            if (!has_constant_ || constant_ != value) {
                std::fill(std::begin(stage_), std::end(stage_), value);
                constant_ = value;
                has_constant_ = true;
            }
            return stage_;
        }
        has_constant_ = false;
        for (i64 j = 0; j < fast::block_stacks; ++j)
            for (i64 l = 0; l < layers; ++l) stage_[j * layers + l] = rfsearch::load<V>(first + j * v.sn + l * v.sl);
        return stage_;
    }

private:
    alignas(64) V stage_[fast::block_stacks * fast::segment_layers];
    V constant_{};
    bool has_constant_ = false;
};

template <class V>
bool same_view(const Strided3<V>& x, const Strided3<V>& y) noexcept {
    return x.data == y.data && x.sn == y.sn && x.sl == y.sl && x.sa == y.sa;
}

// Packs one block segment for the fast path: the dense source runs the pack kernel over its
// raw values (which also checks them); the id source gathers the table's prepacked words.
template <class Src>
class BlockPacker;

template <class T>
class BlockPacker<DenseLayers<T>> {
public:
    BlockPacker(const DenseLayers<T>& src, SimdPath path) noexcept
        : src_(src), pack_(fast::pack_kernel<T>(path)), same_padding_(same_view(src.pad_before, src.pad_after)) {}

    // Layers [l0, l0 + layers) of stacks [n, n + B) on axis a (depth: each stack's depth, or null:
    // every stack has all n_layers), packed layer-major into out; false if any layer within a
    // stack's depth is outside the fast path's limits.
    bool pack(i64 n, i64 a, i64 l0, i64 layers, i64 n_layers, const i64* depth, fast::u64* out) noexcept {
        const std::uint8_t* used = nullptr;  // null: every layer is used
        if (depth) {
            for (i64 j = 0; j < fast::block_stacks; ++j)
                for (i64 l = 0; l < layers; ++l) active_[j * layers + l] = l0 + l < depth[j];
            used = active_;
        }
        const T* p = pad_before_.load(src_.pad_before, n, l0, layers, a, n_layers);
        const T* q = same_padding_ ? p : pad_after_.load(src_.pad_after, n, l0, layers, a, n_layers);
        return pack_(kernel_.load(src_.kernel, n, l0, layers, a, n_layers),
                     stride_.load(src_.stride, n, l0, layers, a, n_layers),
                     dilation_.load(src_.dilation, n, l0, layers, a, n_layers), p, q,
                     ceil_.load(src_.ceil_mode, n, l0, layers, a, n_layers), used, out,
                     fast::block_stacks * layers);
    }

private:
    const DenseLayers<T>& src_;
    fast::PackFn<T> pack_;
    bool same_padding_;
    BlockField<T> kernel_, stride_, dilation_, pad_before_, pad_after_;
    BlockField<std::uint8_t> ceil_;
    alignas(64) std::uint8_t active_[fast::block_stacks * fast::segment_layers];
};

template <class I>
class BlockPacker<IdLayers<I>> {
public:
    BlockPacker(const IdLayers<I>& src, SimdPath) noexcept : src_(src) {}

    bool pack(i64 n, i64 a, i64 l0, i64 layers, i64, const i64* depth, fast::u64* out) noexcept {
        constexpr i64 B = fast::block_stacks;
        const PreparedTable& t = *src_.table;
        const fast::u64* words = t.axis_words(a);
        const auto rows = static_cast<std::uint64_t>(t.n_rows);
        fast::u64 seen = 0;
        for (i64 j = 0; j < B; ++j) {
            const i64 used = depth ? std::clamp<i64>(depth[j] - l0, 0, layers) : layers;
            const char* id = src_.ids.data + (n + j) * src_.ids.s0 + l0 * src_.ids.s1;
            for (i64 l = 0; l < used; ++l, id += src_.ids.s1) {
                // One unsigned compare: negative ids wrap to huge ones.
                const auto row = static_cast<std::uint64_t>(load<I>(id));
                if (row >= rows) return false;  // the scalar path reports it
                const fast::u64 w = words[row];
                seen |= w;
                out[l * B + j] = w;
            }
            for (i64 l = used; l < layers; ++l) out[l * B + j] = 0;  // the identity layer
        }
        return (seen & fast::pack::not_fast) == 0;
    }

private:
    const IdLayers<I>& src_;
};
}  // namespace detail

// Scores stacks [lo, hi) on `path`: same results and errors as score_range_scalar, faster. Full
// blocks of fast::block_stacks stacks go through the lockstep fast path; a block with any
// value outside its limits (invalid values included), or that could overflow, is re-run by
// score_range_scalar, which then also reports the error exactly.
template <class Src>
BatchError score_range(const StackSet& set, const Src& src, const StackResults& r, i64 lo, i64 hi, SimdPath path,
                       FastStats& stats) noexcept {
    constexpr i64 B = fast::block_stacks;
    const bool sized = set.input_size != nullptr;
    const i64 L = set.n_layers, A = set.n_axes;
    bool usable = path != SimdPath::scalar && L > 0 && A > 0 && hi - lo >= B;
    for (i64 a = 0; usable && sized && a < A; ++a) usable = set.input_size[a] <= fast::max_input_size;
    if (!usable) {
        stats.scalar_stacks += hi - lo;
        return score_range_scalar(set, src, r, lo, hi);
    }

    const i64 segment = std::min(L, fast::segment_layers);
    const fast::BlockKernels kernels = fast::block_kernels(path);
    detail::BlockPacker<Src> packer(src, path);
    fast::BlockState st;
    alignas(64) fast::u64 packed[B * fast::segment_layers];

    // Scores block [n, n + B) on the fast path; false if it has to go to the scalar path.
    auto fast_block = [&](i64 n) {
        i64 depth[B];
        i64 max_depth = L;
        if (set.depth.data) {
            max_depth = 0;
            for (i64 j = 0; j < B; ++j) {
                BatchError ignored;
                if (!detail::depth_of(set, n + j, depth[j], ignored)) return false;  // the scalar path reports it
                max_depth = std::max(max_depth, depth[j]);
            }
        }
        for (i64 a = 0; a < A; ++a) {
            st.reset(sized ? set.input_size[a] : 1);
            for (i64 l0 = 0; l0 < max_depth; l0 += segment) {
                const i64 layers = std::min(segment, L - l0);
                if (!packer.pack(n, a, l0, layers, L, set.depth.data ? depth : nullptr, packed)) return false;
                kernels.fold(packed, std::min(layers, max_depth - l0), sized, st);
            }
            const i64 o = n * A + a;
            if (!kernels.store(st, sized, A, r.rf + o, r.jump + o, r.padding + o, r.size + o, r.status + o))
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
            ++stats.fast_blocks;
            continue;
        } else {
            ++stats.scalar_reruns;
            skip = (i64{1} << std::min(misses++, 6)) - 1;
        }
        stats.scalar_stacks += B;
        const BatchError e = score_range_scalar(set, src, r, n, n + B);
        if (e.any()) return e;
    }
    stats.scalar_stacks += hi - n;
    return n < hi ? score_range_scalar(set, src, r, n, hi) : BatchError{};
}

// --- over threads --------------------------------------------------------------------------

// Stacks per chunk: about 64k layer folds, so a chunk takes well under a millisecond and
// Ctrl-C is noticed quickly, while thread hand-off costs stay negligible.
inline i64 chunk_stacks(i64 n_layers, i64 n_axes) noexcept {
    const i64 per_stack = std::max<i64>(1, n_layers * n_axes);
    return std::max<i64>(64, (i64{1} << 16) / per_stack);
}

struct BatchOutcome {
    BatchError error;        // the invalid input with the lowest stack index, if any
    bool cancelled = false;  // poll() asked to stop
    FastStats stats;
};

namespace detail {
template <class Range, class Poll>
BatchOutcome run_batch(const StackSet& set, i64 threads, Poll&& poll, Range&& range) {
    if (set.n_axes < 1 || set.n_axes > default_max_axes)  // the drivers' StackState holds that many
        throw std::invalid_argument("rfsearch: a batch needs 1 to " + std::to_string(default_max_axes) + " axes");
    std::mutex mu;
    BatchOutcome out;
    std::atomic<i64> first_stack{std::numeric_limits<i64>::max()};
    auto body = [&](i64 lo, i64 hi) {
        if (lo > first_stack.load(std::memory_order_relaxed)) return;  // an earlier error wins
        FastStats stats;
        const BatchError e = range(lo, hi, stats);
        std::lock_guard<std::mutex> lock(mu);
        out.stats.add(stats);
        if (e.any() && (!out.error.any() || e.stack < out.error.stack)) {
            out.error = e;
            first_stack.store(e.stack, std::memory_order_relaxed);
        }
    };
    out.cancelled = !run_chunked(set.n_stacks, resolve_threads(threads), chunk_stacks(set.n_layers, set.n_axes),
                                 body, poll);
    return out;
}
}  // namespace detail

// Scores all stacks (results (N, A)) on up to `threads` threads (<= 0: all cores; capped at
// the hardware threads), on SIMD path `path`. Deterministic: the error reported is always the
// one with the lowest stack index, whatever the thread count.
template <class Src, class Poll>
BatchOutcome score_batch(const StackSet& set, const Src& src, const StackResults& r, i64 threads, Poll&& poll,
                         SimdPath path = simd_path()) {
    return detail::run_batch(set, threads, poll, [&](i64 lo, i64 hi, FastStats& stats) {
        return score_range(set, src, r, lo, hi, path, stats);
    });
}

// The per-layer mode over all stacks: results (N, L, A), row (n, l) = the state of stack n after
// layer l (see fold_range_scalar). Same errors as score_batch on the stacks cut after each layer.
template <class Src, class Poll>
BatchOutcome fold_batch_layers(const StackSet& set, const Src& src, const StackResults& r, i64 threads, Poll&& poll) {
    return detail::run_batch(set, threads, poll, [&](i64 lo, i64 hi, FastStats& stats) {
        stats.scalar_stacks += hi - lo;
        return fold_range_scalar<true>(set, src, r, lo, hi);
    });
}

}  // namespace rfsearch
