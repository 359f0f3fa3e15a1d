// The fast path of batch scoring: blocks of `block_stacks` stacks folded in lockstep, one SIMD
// lane per stack. It is an optimisation of fold_layer (fold.hpp stays the definition of the
// math): the drivers in batch.hpp run a block through here only if every value the block
// uses is small enough that no int64 can overflow, and re-run any block that leaves these
// bounds through the exact scalar path. Results are bit-identical either way
// (tests/test_core_fast_path.py and tests/cpp/test_core.cpp check it, on every SIMD path).
//
// Two phases per block, each a loop the compiler vectorises:
//   pack_layers  reads the block's raw values in memory order, checks them all against the
//                fast-path limits into one flag and packs each layer into one 64-bit word
//                (the by-id path packs each table row once instead: pack_one);
//   fold_block   walks the layers, all lanes at once, without branches: collapse freezes a
//                lane by masking, strides are powers of two so division is a shift.
//
// SIMD: the kernels are compiled once per instruction set, as plain functions with a target
// attribute (x86-64 with GCC/Clang: "v4" = AVX-512 F/VL/BW/DQ/CD, "v3" = AVX2/FMA/BMI2, and
// "baseline" = the compiler's default), and one is picked at load time through function
// pointers: the best this CPU runs, or the one set_simd_path() chose (tests run every path).
// Other compilers and CPUs get "baseline" only. No Python here.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "fold.hpp"

#if !defined(RFSEARCH_NO_SIMD_DISPATCH) && defined(__x86_64__) &&                    \
    ((defined(__clang__) && __clang_major__ >= 7) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 6))
#define RFSEARCH_SIMD_DISPATCH 1
#define RFSEARCH_TARGET_V3 __attribute__((target("popcnt,avx,avx2,bmi,bmi2,fma")))
#define RFSEARCH_TARGET_V4 \
    __attribute__((target("popcnt,avx,avx2,bmi,bmi2,fma,avx512f,avx512vl,avx512bw,avx512dq,avx512cd")))
#else
#define RFSEARCH_SIMD_DISPATCH 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define RFSEARCH_ALWAYS_INLINE __attribute__((always_inline)) inline
#elif defined(_MSC_VER)
#define RFSEARCH_ALWAYS_INLINE __forceinline
#else
#define RFSEARCH_ALWAYS_INLINE inline
#endif

namespace rfsearch::fast {

using u64 = std::uint64_t;

// Stacks per block: 16 int64 lanes, two AVX-512 registers per state variable. Measured on
// Zen 4 (bench workload, depth 10): 8 lanes 2.8 ns/layer, 16 lanes 1.9, 32 lanes 2.4 (spills).
inline constexpr int block_stacks = 16;
// Layers packed per pass; deeper stacks are folded in segments of this many layers (the
// block buffers live on the stack: this keeps them to a few tens of kB).
inline constexpr std::int64_t segment_layers = 32;

// Fast-path limits: 1 <= kernel <= 2^14, 1 <= dilation <= 2^14, 0 <= padding < 2^14,
// stride a power of two <= 2^13, no PAD_SAME; input size <= 2^40. Then keff-1 < 2^28, and
// while log2(jump) <= 32 every rf/padding increment is < 2^60, so a value checked < 2^62
// after each layer cannot wrap in the next one: checking after every layer is exact.
inline constexpr int value_bits = 14;
inline constexpr i64 max_input_size = i64{1} << 40;
inline constexpr u64 max_log2_jump = 32;
inline constexpr int rf_bits = 62;

// One layer packed in 64 bits (field widths follow from the limits above):
//   bits  0..27  keff - 1 = d*(k-1)          bits 32..45  padding before p
//   bits 28..31  log2(stride)                bits 46..61  p + q + (ceil_mode ? stride-1 : 0)
//   bit  63      ceil_mode (the sign bit: one compare makes it a lane mask)
// The all-zero word is the identity layer (k=1, s=1, p=q=0): lanes past their depth get it.
// Bit 62 is unused: the by-id path marks table rows the fast path cannot fold with it.
namespace pack {
inline constexpr int log2s_shift = 28, pad_shift = 32, sum_shift = 46, ceil_shift = 63;
inline constexpr u64 not_fast = u64{1} << 62;
inline constexpr u64 keff1_mask = (u64{1} << 28) - 1, log2s_mask = 15, pad_mask = (u64{1} << 14) - 1,
                     sum_mask = (u64{1} << 16) - 1;
}  // namespace pack

// Per block, per lane: the running state of one axis.
struct BlockState {
    alignas(64) u64 rf[block_stacks];
    alignas(64) u64 padding[block_stacks];
    alignas(64) u64 log2_jump[block_stacks];  // jump is a power of two on the fast path
    alignas(64) i64 size_m1[block_stacks];    // output size - 1 (the sign says collapsed)
    alignas(64) i64 live[block_stacks];       // all ones until the lane collapses
    alignas(64) u64 seen[block_stacks];       // OR of every rf and padding value reached

    void reset(i64 input_size) noexcept {
        for (int j = 0; j < block_stacks; ++j) {
            rf[j] = 1;
            padding[j] = 0;
            log2_jump[j] = 0;
            size_m1[j] = input_size - 1;
            live[j] = -1;
            seen[j] = 0;
        }
    }
    // True if no value left the bounds under which the lockstep arithmetic is exact.
    bool exact() const noexcept {
        u64 bad = 0;
        for (int j = 0; j < block_stacks; ++j) bad |= (seen[j] >> rf_bits) | (log2_jump[j] > max_log2_jump);
        return bad == 0;
    }
};

namespace detail {

// Phase a for one dtype: count = block_stacks * layers values per field, in block order
// (stack-major). active (0/1 per value, or null: all active) masks layers past a stack's
// depth: their values are not checked and they pack to the identity. Returns true if every
// active value is inside the fast-path limits.
template <class T, bool Ragged>
RFSEARCH_ALWAYS_INLINE bool pack_layers_impl(const T* __restrict kernel, const T* __restrict stride,
                                             const T* __restrict dilation, const T* __restrict pad_before,
                                             const T* __restrict pad_after, const std::uint8_t* __restrict ceil,
                                             const std::uint8_t* __restrict active, u64* __restrict out,
                                             std::int64_t count) noexcept {
    // Checks run on unsigned lanes as wide as needed: negative values wrap to huge ones and
    // fail like too-large ones. 32-bit lanes for dtypes up to 32 bits (twice the lanes).
    using U = std::conditional_t<(sizeof(T) <= 4), std::uint32_t, u64>;
    auto lane = [](T v) { return static_cast<U>(static_cast<std::conditional_t<std::is_signed_v<T>, i64, u64>>(v)); };
    U outside = 0;
    alignas(64) u64 flat[block_stacks * segment_layers];
    for (std::int64_t i = 0; i < count; ++i) {
        const U k1 = lane(kernel[i]) - 1, s = lane(stride[i]), d1 = lane(dilation[i]) - 1;
        const U p = lane(pad_before[i]), q = lane(pad_after[i]);
        const U c = ceil[i] != 0;
        // One compare for all range limits (each is below 2^14 iff their OR is), and stride
        // must be a power of two.
        U bad = ((k1 | d1 | p | q | ((s - 1) << 1)) >> value_bits) | (s & (s - 1));
        // log2 of a power of two from its float exponent (vectorises everywhere, unlike ctz).
        const float fs = static_cast<float>(static_cast<std::int32_t>(s));
        std::int32_t fbits;
        std::memcpy(&fbits, &fs, sizeof fbits);
        const U log2s = static_cast<U>((fbits >> 23) - 127) & static_cast<U>(pack::log2s_mask);
        // Out of range, the fields below are garbage, but then the block is never folded.
        const U keff1 = (d1 + 1) * k1;
        const U sum = p + q + ((s - 1) & (0 - c));
        const std::uint32_t lo = static_cast<std::uint32_t>(keff1 | (log2s << pack::log2s_shift));
        const std::uint32_t hi =
            static_cast<std::uint32_t>(p | (sum << (pack::sum_shift - 32)) | (c << (pack::ceil_shift - 32)));
        u64 word = lo | (static_cast<u64>(hi) << 32);
        if constexpr (Ragged) {
            const U on = 0 - static_cast<U>(active[i]);
            bad &= on;
            word &= static_cast<u64>(0) - active[i];
        }
        outside |= bad;
        flat[i] = word;
    }
    // Layer-major for fold_block: one layer's lanes are then one contiguous vector load.
    const std::int64_t layers = count / block_stacks;
    for (std::int64_t l = 0; l < layers; ++l)
        for (int j = 0; j < block_stacks; ++j) out[l * block_stacks + j] = flat[j * layers + l];
    return outside == 0;
}

// Phase b: folds `layers` packed layers into every lane of `st`; packed[l * block_stacks + j]
// is layer l of lane j. `sized`: the input size is known (else sizes are not tracked and
// nothing collapses). Mirrors fold_layer with size_m1 = size - 1:
//   size' - 1 = floor((size - 1 + p + q - (keff - 1) + ceil*(s-1)) / s), minus 1 if ceil_mode
//   and that last window starts at or past size + p (PyTorch).
RFSEARCH_ALWAYS_INLINE void fold_block_impl(const u64* __restrict packed, std::int64_t layers, bool sized,
                                            BlockState& st) noexcept {
    constexpr int B = block_stacks;
    // Local copies: the compiler keeps them in registers across the layer loop.
    u64 rf[B], pad[B], lj[B], seen[B];
    i64 size_m1[B], live[B];
    for (int j = 0; j < B; ++j) {
        rf[j] = st.rf[j];
        pad[j] = st.padding[j];
        lj[j] = st.log2_jump[j];
        seen[j] = st.seen[j];
        size_m1[j] = st.size_m1[j];
        live[j] = st.live[j];
    }
    const i64 keep_sized = sized ? 0 : -1;  // unsized: never collapse
    for (std::int64_t l = 0; l < layers; ++l) {
        for (int j = 0; j < B; ++j) {
            const u64 w = packed[l * B + j];
            const u64 keff1 = w & pack::keff1_mask;
            const u64 log2s = (w >> pack::log2s_shift) & pack::log2s_mask;
            const i64 p = static_cast<i64>((w >> pack::pad_shift) & pack::pad_mask);
            const i64 sum = static_cast<i64>((w >> pack::sum_shift) & pack::sum_mask);
            const i64 ceil = static_cast<i64>(w) >> pack::ceil_shift;  // all ones if ceil_mode
            const i64 m = live[j];                                       // all ones if live
            // floor division by a power of two is an arithmetic shift
            const i64 fl = (size_m1[j] + sum - static_cast<i64>(keff1)) >> log2s;
            const i64 last_start = static_cast<i64>(static_cast<u64>(fl) << log2s);
            const i64 out_m1 = fl - (ceil & static_cast<i64>(last_start > size_m1[j] + p));
            rf[j] += (keff1 << lj[j]) & static_cast<u64>(m);
            pad[j] += (static_cast<u64>(p) << lj[j]) & static_cast<u64>(m);
            // Saturates past the bound exact() checks, so the shifts above stay defined.
            lj[j] = std::min<u64>(lj[j] + (log2s & static_cast<u64>(m)), max_log2_jump + 16);
            size_m1[j] = (out_m1 & m) | (size_m1[j] & ~m);
            live[j] = m & (-static_cast<i64>(out_m1 >= 0) | keep_sized);
            seen[j] |= rf[j] | pad[j];
        }
    }
    for (int j = 0; j < B; ++j) {
        st.rf[j] = rf[j];
        st.padding[j] = pad[j];
        st.log2_jump[j] = lj[j];
        st.seen[j] = seen[j];
        st.size_m1[j] = size_m1[j];
        st.live[j] = live[j];
    }
}
// Writes the block's results, row j of each output at j * row_stride (the number of axes),
// if every lane stayed within the bounds under which fold_block is exact; else writes
// nothing and returns false (the caller then re-runs the block on the scalar path).
RFSEARCH_ALWAYS_INLINE bool store_block_impl(const BlockState& st, bool sized, std::int64_t row_stride,
                                             i64* __restrict rf, i64* __restrict jump, i64* __restrict padding,
                                             i64* __restrict size, std::uint8_t* __restrict status) noexcept {
    if (!st.exact()) return false;
    for (int j = 0; j < block_stacks; ++j) {
        const std::int64_t o = j * row_stride;
        rf[o] = static_cast<i64>(st.rf[j]);
        jump[o] = static_cast<i64>(u64{1} << st.log2_jump[j]);
        padding[o] = static_cast<i64>(st.padding[j]);
        size[o] = sized ? st.size_m1[j] + 1 : 0;
        status[o] = static_cast<std::uint8_t>(st.live[j] ? Status::ok : Status::collapsed);
    }
    return true;
}
}  // namespace detail

// The kernels, compiled once per instruction set: namespaces baseline, v3, v4. The template
// bodies above are inlined into each, so each is vectorised for its own instruction set.
#define RFSEARCH_DEFINE_FAST_KERNELS(NS, TARGET)                                                                  \
    namespace NS {                                                                                                \
    template <class T>                                                                                            \
    TARGET bool pack_layers(const T* kernel, const T* stride, const T* dilation, const T* pad_before,             \
                            const T* pad_after, const std::uint8_t* ceil, const std::uint8_t* active, u64* out,   \
                            std::int64_t count) noexcept {                                                        \
        return active ? detail::pack_layers_impl<T, true>(kernel, stride, dilation, pad_before, pad_after, ceil,  \
                                                          active, out, count)                                     \
                      : detail::pack_layers_impl<T, false>(kernel, stride, dilation, pad_before, pad_after, ceil, \
                                                           active, out, count);                                   \
    }                                                                                                             \
    TARGET inline void fold_block(const u64* packed, std::int64_t layers, bool sized, BlockState& st) noexcept { \
        detail::fold_block_impl(packed, layers, sized, st);                                                       \
    }                                                                                                             \
    TARGET inline bool store_block(const BlockState& st, bool sized, std::int64_t row_stride, i64* rf, i64* jump, \
                                   i64* padding, i64* size, std::uint8_t* status) noexcept {                      \
        return detail::store_block_impl(st, sized, row_stride, rf, jump, padding, size, status);                  \
    }                                                                                                             \
    }

RFSEARCH_DEFINE_FAST_KERNELS(baseline, )
#if RFSEARCH_SIMD_DISPATCH
RFSEARCH_DEFINE_FAST_KERNELS(v3, RFSEARCH_TARGET_V3)
RFSEARCH_DEFINE_FAST_KERNELS(v4, RFSEARCH_TARGET_V4)
#endif
#undef RFSEARCH_DEFINE_FAST_KERNELS

// One layer packed as pack_layers packs it (the by-id path packs each table row once).
// Returns false if the layer is outside the fast path's limits (or invalid).
inline bool pack_one(const LayerParams& p, u64& word) noexcept {
    constexpr i64 limit = i64{1} << value_bits;
    const bool fits = p.kernel >= 1 && p.kernel <= limit && p.dilation >= 1 && p.dilation <= limit &&
                      p.pad_before >= 0 && p.pad_before < limit && p.pad_after >= 0 && p.pad_after < limit &&
                      p.stride >= 1 && p.stride <= limit / 2 && (p.stride & (p.stride - 1)) == 0;
    if (!fits) return false;
    const u64 keff1 = static_cast<u64>(p.dilation * (p.kernel - 1));
    const u64 log2s = static_cast<u64>(checked::ctz(static_cast<u64>(p.stride)));
    const u64 sum = static_cast<u64>(p.pad_before + p.pad_after + (p.ceil_mode ? p.stride - 1 : 0));
    word = keff1 | (log2s << pack::log2s_shift) | (static_cast<u64>(p.pad_before) << pack::pad_shift) |
           (sum << pack::sum_shift) | (static_cast<u64>(p.ceil_mode) << pack::ceil_shift);
    return true;
}

}  // namespace rfsearch::fast

namespace rfsearch {

// Which code path batch scoring uses: "scalar" (fold_layer only, no fast path), or the fast
// path compiled for "baseline", "v3" (AVX2) or "v4" (AVX-512).
enum class SimdPath : std::uint8_t { scalar = 0, baseline = 1, v3 = 2, v4 = 3 };
inline constexpr int n_simd_paths = 4;

inline constexpr const char* simd_path_name(SimdPath p) noexcept {
    constexpr const char* names[n_simd_paths] = {"scalar", "baseline", "v3", "v4"};
    return names[static_cast<int>(p)];
}

// Compiled into this build.
inline constexpr bool simd_path_compiled(SimdPath p) noexcept {
    return p == SimdPath::scalar || p == SimdPath::baseline || RFSEARCH_SIMD_DISPATCH;
}

// Compiled in and runnable on this CPU (and OS: __builtin_cpu_supports checks that the OS
// saves the AVX / AVX-512 registers).
inline bool simd_path_supported(SimdPath p) noexcept {
    if (!simd_path_compiled(p)) return false;
#if RFSEARCH_SIMD_DISPATCH
    __builtin_cpu_init();
    const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx") &&
                    __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
                    __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
    if (p == SimdPath::v3) return v3;
    if (p == SimdPath::v4)
        return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512cd");
#endif
    return true;
}

inline SimdPath best_simd_path() noexcept {
    for (SimdPath p : {SimdPath::v4, SimdPath::v3})
        if (simd_path_supported(p)) return p;
    return SimdPath::baseline;
}

namespace detail {
inline std::atomic<int>& simd_path_setting() noexcept {
    static std::atomic<int> setting{static_cast<int>(best_simd_path())};  // chosen once, at first use
    return setting;
}
}  // namespace detail

// The path batch scoring uses now (a batch reads it once, when it starts).
inline SimdPath simd_path() noexcept {
    return static_cast<SimdPath>(detail::simd_path_setting().load(std::memory_order_relaxed));
}
// Chooses the path (tests run every path); false, and nothing changes, if this CPU lacks it.
inline bool set_simd_path(SimdPath p) noexcept {
    if (!simd_path_supported(p)) return false;
    detail::simd_path_setting().store(static_cast<int>(p), std::memory_order_relaxed);
    return true;
}

namespace fast {

template <class T>
using PackFn = bool (*)(const T*, const T*, const T*, const T*, const T*, const std::uint8_t*, const std::uint8_t*,
                        u64*, std::int64_t) noexcept;

// fold_block and store_block for one instruction set.
struct BlockKernels {
    void (*fold)(const u64*, std::int64_t, bool, BlockState&) noexcept;
    bool (*store)(const BlockState&, bool, std::int64_t, i64*, i64*, i64*, i64*, std::uint8_t*) noexcept;
};

// The kernels of path p (p must not be scalar; v3/v4 only where compiled).
inline BlockKernels block_kernels(SimdPath p) noexcept {
#if RFSEARCH_SIMD_DISPATCH
    if (p == SimdPath::v4) return {&v4::fold_block, &v4::store_block};
    if (p == SimdPath::v3) return {&v3::fold_block, &v3::store_block};
#endif
    (void)p;
    return {&baseline::fold_block, &baseline::store_block};
}
template <class T>
PackFn<T> pack_kernel(SimdPath p) noexcept {
#if RFSEARCH_SIMD_DISPATCH
    if (p == SimdPath::v4) return &v4::pack_layers<T>;
    if (p == SimdPath::v3) return &v3::pack_layers<T>;
#endif
    (void)p;
    return &baseline::pack_layers<T>;
}

}  // namespace fast
}  // namespace rfsearch
