// The fold: receptive-field arithmetic for one layer, the one definition every caller uses
// (batch scoring, per-layer states of one network, and later a depth-first enumerator and a
// graph evaluator).
//
// Conventions (Araujo et al., "Computing Receptive Fields of CNNs", Distill 2019):
// output unit u of a stack sees input coordinates [u*jump - padding, u*jump - padding + rf - 1]
// (0-indexed, padding included). Output sizes follow PyTorch (floor; ceil_mode keeps a last
// window only if it starts inside the input or the left padding); 'same' padding follows TF.
//
// Pure step functions: state in, layer in, state out. A state is a small value type (cheap to
// copy), so an enumerator keeps one per depth and a graph evaluator one per node. The numbers
// rf, jump and padding are of a type `Num` (int64 by default) that only needs the operations
// of NumOps<Num>: a checked add, a checked multiply by an int64, and a conversion from int64;
// a checked rational plugs in there for transposed convolutions (jump 1/2). Sizes are int64.
// Every operation is checked: a wrapped value would be a silent wrong answer.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "checked.hpp"

namespace rfsearch {

// Padding value meaning TensorFlow 'SAME' (negative padding is otherwise invalid).
inline constexpr i64 pad_same = -1;

// One layer on one axis.
struct LayerParams {
    i64 kernel = 1;
    i64 stride = 1;
    i64 dilation = 1;
    i64 pad_before = 0;  // or pad_same
    i64 pad_after = 0;   // or pad_same (must then match pad_before)
    bool ceil_mode = false;
};

// Per stack and axis: whether the state is usable. Exported to Python as _core.STATUS_CODES
// (rfsearch.Status takes its values from there).
enum class Status : std::uint8_t {
    ok = 0,
    collapsed = 1,  // an output size fell below 1: the stack is invalid for this input
    overflow = 2,   // a value left the range of Num (int64)
};
inline constexpr int n_statuses = 3;

// Why a layer's parameters (or a stack's depth / ids) are invalid. Exported as
// _core.PARAM_ERRORS; rfsearch.errors words each one.
enum class ParamError : std::uint8_t {
    none = 0,
    kernel_below_one,
    stride_below_one,
    dilation_below_one,
    padding_negative,        // negative and not pad_same
    padding_after_mismatch,  // negative, or pad_same on one side only
    same_needs_size,         // 'same' with stride > 1 depends on the (unknown) input size
    too_large,               // an unsigned value above the int64 range
    depth_out_of_range,      // a stack's depth outside [0, L]
    id_out_of_range,         // a layer id that is not a row of the layer table
};
inline constexpr int n_param_errors = 10;

// Which input a parameter error refers to. Exported as _core.FIELDS.
enum class Field : std::uint8_t { kernel, stride, dilation, padding, padding_after, depth, ids };
inline constexpr int n_fields = 7;

inline constexpr const char* status_name(Status s) noexcept {
    constexpr const char* names[n_statuses] = {"ok", "collapsed", "overflow"};
    return names[static_cast<int>(s)];
}
inline constexpr const char* param_error_name(ParamError e) noexcept {
    constexpr const char* names[n_param_errors] = {
        "none", "kernel_below_one", "stride_below_one", "dilation_below_one", "padding_negative",
        "padding_after_mismatch", "same_needs_size", "too_large", "depth_out_of_range", "id_out_of_range"};
    return names[static_cast<int>(e)];
}
inline constexpr const char* field_name(Field f) noexcept {
    constexpr const char* names[n_fields] = {"kernel", "stride", "dilation", "padding", "padding_after", "depth", "ids"};
    return names[static_cast<int>(f)];
}

// The field a check_params error is about, and the value to show for it.
inline constexpr Field field_of(ParamError e) noexcept {
    switch (e) {
        case ParamError::stride_below_one: return Field::stride;
        case ParamError::dilation_below_one: return Field::dilation;
        case ParamError::padding_negative: return Field::padding;
        case ParamError::padding_after_mismatch: return Field::padding_after;
        case ParamError::same_needs_size: return Field::padding;
        case ParamError::depth_out_of_range: return Field::depth;
        case ParamError::id_out_of_range: return Field::ids;
        default: return Field::kernel;
    }
}
inline constexpr i64 error_value(const LayerParams& p, ParamError e) noexcept {
    switch (e) {
        case ParamError::stride_below_one: return p.stride;
        case ParamError::dilation_below_one: return p.dilation;
        case ParamError::padding_negative: return p.pad_before;
        case ParamError::padding_after_mismatch: return p.pad_after;
        case ParamError::same_needs_size: return p.stride;  // the message names the stride
        default: return p.kernel;
    }
}

// Checks one layer's parameters; `sized` says whether the input size will be known (else
// 'same' padding with stride > 1 cannot be resolved). The order of checks is part of the
// contract: the Python reference checks in the same order, so both name the same field.
inline constexpr ParamError check_params(const LayerParams& p, bool sized) noexcept {
    if (p.kernel < 1) return ParamError::kernel_below_one;
    if (p.stride < 1) return ParamError::stride_below_one;
    if (p.dilation < 1) return ParamError::dilation_below_one;
    if (p.pad_before < 0 && p.pad_before != pad_same) return ParamError::padding_negative;
    if (p.pad_before == pad_same ? p.pad_after != pad_same : p.pad_after < 0) return ParamError::padding_after_mismatch;
    if (p.pad_before == pad_same && p.stride > 1 && !sized) return ParamError::same_needs_size;
    return ParamError::none;
}

// The number operations the fold needs. Specialise NumOps for another Num (e.g. a checked
// rational); every function returns true if the result is not representable (overflow).
template <class Num>
struct NumOps;

template <>
struct NumOps<i64> {
    static constexpr i64 from_int(i64 v) noexcept { return v; }
    static bool add(i64 a, i64 b, i64& out) noexcept { return checked::add(a, b, out); }
    static bool mul(i64 a, i64 k, i64& out) noexcept { return checked::mul(a, k, out); }  // a * int64
};

// The running state of one axis after some layers. `size` (the current output size) is
// meaningful only when the input size is known (StackState::sized; fold_layer's `sized`).
template <class Num = i64>
struct AxisState {
    Num rf = NumOps<Num>::from_int(1);
    Num jump = NumOps<Num>::from_int(1);
    Num padding = NumOps<Num>::from_int(0);  // effective padding P: output unit 0 starts at -P
    i64 size = 0;
};

namespace detail {
// Floor division for b > 0 (C++ truncates toward zero; a may be negative here). Strides are
// nearly always powers of two: an arithmetic shift is exact floor division for them and avoids
// a 64-bit divide, whose latency would otherwise dominate the layer-to-layer size chain.
inline i64 floor_div(i64 a, i64 b) noexcept {
    if ((b & (b - 1)) == 0) return a >> checked::ctz(static_cast<std::uint64_t>(b));
    const i64 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}
}  // namespace detail

// Folds one layer into `in`, writing the result to `out` (`out` may be `in`).
// Precondition: check_params(p, sized) == ParamError::none (callers validate a layer once, e.g.
// when they build their table of choices, and then fold it many times).
// Returns ok or collapsed with `out` = the state after the layer (collapsed: out.size < 1, the
// stack ends there), or overflow with `out` = `in` (the last valid state).
template <class Num>
Status fold_layer(const AxisState<Num>& in, const LayerParams& p, bool sized, AxisState<Num>& out) noexcept {
    using Ops = NumOps<Num>;
    i64 keff1;  // effective kernel - 1 = d*(k-1)
    if (checked::mul(p.dilation, p.kernel - 1, keff1) || keff1 == checked::max) {
        out = in;
        return Status::overflow;
    }
    const i64 keff = keff1 + 1;

    i64 before = p.pad_before, after = p.pad_after;
    if (p.pad_before == pad_same) {
        // TF: out = ceil(n/s), total = max((out-1)*s + keff - n, 0), the extra pixel after.
        i64 total = keff1;  // stride 1 without a size (any size, in fact: out = n)
        if (sized) {
            const i64 n_out = detail::floor_div(in.size - 1, p.stride) + 1;  // ceil(n/s), n >= 1
            const i64 last_start_gap = in.size - (n_out - 1) * p.stride;    // in [1, stride]
            total = keff > last_start_gap ? keff - last_start_gap : 0;
        } else if (p.stride != 1) {
            out = in;  // unreachable when the precondition holds (same_needs_size)
            return Status::overflow;
        }
        before = total / 2;
        after = total - before;
    }

    AxisState<Num> n;
    Num t;
    if (Ops::mul(in.jump, keff1, t) || Ops::add(in.rf, t, n.rf) || Ops::mul(in.jump, before, t) ||
        Ops::add(in.padding, t, n.padding) || Ops::mul(in.jump, p.stride, n.jump)) {
        out = in;
        return Status::overflow;
    }
    n.size = in.size;
    if (!sized) {
        out = n;
        return Status::ok;
    }
    i64 padded, num;
    if (checked::add(in.size, before, padded) || checked::add(padded, after, padded)) {
        out = in;
        return Status::overflow;
    }
    num = padded - keff;  // padded >= 1 and keff >= 1: cannot overflow
    if (p.ceil_mode && checked::add(num, p.stride - 1, num)) {
        out = in;
        return Status::overflow;
    }
    i64 size = detail::floor_div(num, p.stride) + 1;
    // PyTorch: with ceil_mode the last window must start inside the input or the left padding.
    if (p.ceil_mode && (size - 1) * p.stride >= in.size + before) --size;
    n.size = size;
    out = n;
    return size < 1 ? Status::collapsed : Status::ok;
}

// Axes a StackState holds by default (spatial axes: 1D, 2D, 3D, and room to spare).
inline constexpr int default_max_axes = 8;

// The state of a whole stack: every axis, and whether the input size is known. Fixed-size
// arrays, no heap: copying it is a memcpy of a few hundred bytes (use a smaller MaxAxes in a
// search over 2-D stacks). An axis that collapsed or overflowed keeps its state and status;
// later layers leave it alone (as they would a stack cut there).
template <class Num = i64, int MaxAxes = default_max_axes>
struct StackState {
    static_assert(MaxAxes >= 1, "a stack has at least one axis");
    static constexpr int max_axes = MaxAxes;

    std::array<AxisState<Num>, MaxAxes> axis{};
    std::array<Status, MaxAxes> status{};
    int n_axes = 0;
    bool sized = false;

    // The state before any layer: n_axes axes, input sizes known iff input_size != nullptr
    // (then n_axes values, each >= 1). Returns false (and leaves the state empty) if n_axes is
    // outside [1, MaxAxes].
    bool reset(int axes, const i64* input_size) noexcept {
        n_axes = 0;
        if (axes < 1 || axes > MaxAxes) return false;
        n_axes = axes;
        sized = input_size != nullptr;
        for (int a = 0; a < axes; ++a) {
            axis[static_cast<std::size_t>(a)] = AxisState<Num>{};
            axis[static_cast<std::size_t>(a)].size = sized ? input_size[a] : 0;
            status[static_cast<std::size_t>(a)] = Status::ok;
        }
        return true;
    }
    // As reset, but refuses more axes than MaxAxes with an exception.
    static StackState start(int axes, const i64* input_size) {
        StackState s;
        if (!s.reset(axes, input_size))
            throw std::invalid_argument("StackState: the number of axes must be in [1, " + std::to_string(MaxAxes) +
                                        "], got " + std::to_string(axes));
        return s;
    }
    // ok if every axis is usable, else the most severe status of any axis (overflow > collapsed).
    Status worst() const noexcept {
        Status w = Status::ok;
        for (int a = 0; a < n_axes; ++a)
            if (static_cast<int>(status[static_cast<std::size_t>(a)]) > static_cast<int>(w))
                w = status[static_cast<std::size_t>(a)];
        return w;
    }
    bool running(int a) const noexcept { return status[static_cast<std::size_t>(a)] == Status::ok; }
};

// Folds one layer, given on every axis (row[a] for a < in.n_axes), into every running axis of
// `in`, writing `out` (`out` may be `in`). Precondition: check_params(row[a], in.sized) == none
// for every running axis a. Returns out.worst().
template <class Num, int MaxAxes>
Status fold_stack_layer(const StackState<Num, MaxAxes>& in, const LayerParams* row,
                        StackState<Num, MaxAxes>& out) noexcept {
    if (&out != &in) out = in;
    for (int a = 0; a < in.n_axes; ++a) {
        const auto i = static_cast<std::size_t>(a);
        if (out.status[i] == Status::ok) out.status[i] = fold_layer(out.axis[i], row[a], out.sized, out.axis[i]);
    }
    return out.worst();
}

}  // namespace rfsearch
