// Receptive-field arithmetic for one layer on one spatial axis.
//
// Conventions (Araujo et al., "Computing Receptive Fields of CNNs", Distill 2019):
// output unit u of a stack sees input coordinates [u*jump - padding, u*jump - padding + rf - 1]
// (0-indexed, padding included). Output sizes follow PyTorch (floor; ceil_mode keeps a last
// window only if it starts inside the input or the left padding); 'same' padding follows TF.
//
// Everything is plain int64 with explicit overflow checks: a deep stride-2 stack overflows
// the jump, and a wrapped value would be a silent wrong answer.
#pragma once

#include <cstdint>
#include <limits>

namespace rfsearch {

using i64 = std::int64_t;

// Padding value meaning TensorFlow 'SAME' (negative padding is otherwise invalid).
inline constexpr i64 pad_same = -1;

struct LayerParams {
    i64 kernel = 1;
    i64 stride = 1;
    i64 dilation = 1;
    i64 pad_before = 0;  // or pad_same
    i64 pad_after = 0;   // or pad_same (must then match pad_before)
    bool ceil_mode = false;
};

// Running state of one axis after some layers. `size` is meaningful only when the input
// size is known (the caller tracks that).
struct AxisState {
    i64 rf = 1;
    i64 jump = 1;
    i64 padding = 0;  // effective padding P: output unit 0 starts at -P
    i64 size = 0;
};

// Outcome of folding one layer. The first group leaves a usable state; the second means the
// layer's parameters are invalid (the caller reports where).
enum class Fold : std::uint8_t {
    ok = 0,
    collapsed = 1,  // output size < 1: the stack is invalid for this input
    overflow = 2,   // a value left the int64 range
    bad_kernel,
    bad_stride,
    bad_dilation,
    bad_padding,
    bad_padding_after,
    same_needs_size,  // 'same' with stride > 1 depends on the (unknown) input size
};

inline constexpr bool is_param_error(Fold f) noexcept { return f >= Fold::bad_kernel; }

namespace detail {
inline bool mul(i64 a, i64 b, i64& out) noexcept { return __builtin_mul_overflow(a, b, &out); }
inline bool add(i64 a, i64 b, i64& out) noexcept { return __builtin_add_overflow(a, b, &out); }

// Floor division for b > 0 (C++ truncates toward zero; a may be negative here). Strides are
// nearly always powers of two: an arithmetic shift is exact floor division for them and avoids
// a 64-bit divide, whose latency would otherwise dominate the layer-to-layer size chain.
inline i64 floor_div(i64 a, i64 b) noexcept {
    if ((b & (b - 1)) == 0) return a >> __builtin_ctzll(static_cast<unsigned long long>(b));
    i64 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}
}  // namespace detail

// Checks one layer's parameters; the order of checks is part of the contract (the Python
// reference checks in the same order, so both report the same field).
inline Fold check_params(const LayerParams& p) noexcept {
    if (p.kernel < 1) return Fold::bad_kernel;
    if (p.stride < 1) return Fold::bad_stride;
    if (p.dilation < 1) return Fold::bad_dilation;
    if (p.pad_before < 0 && p.pad_before != pad_same) return Fold::bad_padding;
    if (p.pad_before == pad_same ? p.pad_after != pad_same : p.pad_after < 0)
        return Fold::bad_padding_after;
    return Fold::ok;
}

// Folds one layer (already checked) into `s`. `sized` says whether s.size holds the layer's
// input size. On overflow `s` is left as it was before the layer; on collapse the layer is
// applied and s.size holds its (non-positive) output size: the stack ends there.
inline Fold fold_layer(AxisState& s, const LayerParams& p, bool sized) noexcept {
    using detail::add;
    using detail::mul;
    i64 keff;  // effective kernel d*(k-1)+1
    if (mul(p.dilation, p.kernel - 1, keff) || add(keff, 1, keff)) return Fold::overflow;

    i64 before = p.pad_before, after = p.pad_after;
    if (p.pad_before == pad_same) {
        // TF: out = ceil(n/s), total = max((out-1)*s + keff - n, 0), extra pixel after.
        i64 total;
        if (sized) {
            i64 out = detail::floor_div(s.size - 1, p.stride) + 1;  // ceil(n/s), n >= 1
            i64 last_start_gap = s.size - (out - 1) * p.stride;  // in [1, stride]
            total = keff > last_start_gap ? keff - last_start_gap : 0;
        } else if (p.stride == 1) {
            total = keff - 1;
        } else {
            return Fold::same_needs_size;
        }
        before = total / 2;
        after = total - before;
    }

    AxisState n;
    i64 t;
    if (mul(keff - 1, s.jump, t) || add(s.rf, t, n.rf)) return Fold::overflow;
    if (mul(before, s.jump, t) || add(s.padding, t, n.padding)) return Fold::overflow;
    if (mul(s.jump, p.stride, n.jump)) return Fold::overflow;
    n.size = s.size;
    if (sized) {
        i64 padded, num;
        if (add(s.size, before, padded) || add(padded, after, padded)) return Fold::overflow;
        num = padded - keff;
        if (p.ceil_mode && add(num, p.stride - 1, num)) return Fold::overflow;
        i64 out = detail::floor_div(num, p.stride) + 1;
        // PyTorch: with ceil_mode the last window must start inside the input or left padding.
        if (p.ceil_mode && (out - 1) * p.stride >= s.size + before) --out;
        n.size = out;
        s = n;
        return out < 1 ? Fold::collapsed : Fold::ok;
    }
    s = n;
    return Fold::ok;
}

}  // namespace rfsearch
