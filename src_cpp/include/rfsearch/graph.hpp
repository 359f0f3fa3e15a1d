// Graph evaluation: the receptive field of every node of many graphs that share one topology
// (nodes in topological order, their op kinds and inputs) and differ in their parameters (e.g.
// kernel sizes chosen inside a ResNet skeleton). The twin of the pure-Python reference
// rfsearch/graph/reference.py, number for number (tests/test_graph_core.py checks it).
//
// Definitions (README "Graphs"). On one axis, every path from the input maps output unit u of a
// node to an input extent [lo(u), hi(u)] (padding included, Distill). Distinct maps are kept as
// path classes: a Pattern repeats every `period` units moved by `shift` input positions
// (jump = shift/period; period 1 for integer jumps, more after a transposed convolution or an
// upsampling), stored as one period of (lo, hi). Per node and axis:
//   rf / rf_min  max / min over classes and one period of units (0 for a unit that sees nothing)
//   jump, start (unit 0's lo), centre (unit 0's (lo + hi)/2), period: of the max-RF class (the
//                first in input order on ties), as Distill and google-research report them
//   whole input  every path is global (global pooling, flatten, linear, adaptive pooling to 1):
//                rf = the input size (unknown without one), start 0, centre (n - 1)/2, no jump
//   context      a broadcast input (global branch, size 1 against a larger size, jump 0) joined
//   misaligned   at a merge, the max-RF classes of the (non-broadcast) inputs disagree on jump
//                or centre line (the mean over a period of centre(u) - jump*u), Distill's check
// A class of period 1 through a conv / pooling layer goes through the fold (fold.hpp), as the
// sequential engine does; other classes are composed exactly with the op's window (the input
// units taps(v) output unit v reads, an arithmetic progression). Rationals (rational.hpp) carry
// jumps and centre lines. The fold over rationals is not used for fractional classes: after an
// upsampling the extent changes from unit to unit, and the fold's rf + (k_eff - 1)*jump is their
// mean, not the max or min over units (nearest x2 then a 1x1 stride-2 conv: every unit sees one
// pixel, centre line 0; the rational fold says centre line -1/4; tests/cpp/test_graph.cpp).
//
// Everything is checked int64; a value that would leave int64 gives status overflow at its node.
// One parameter set is evaluated by evaluate_set (no allocation once the workspace has grown);
// evaluate_sets runs many on threads, polling for cancellation between chunks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "checked.hpp"
#include "fold.hpp"
#include "parallel.hpp"
#include "rational.hpp"
#include "reach.hpp"

namespace rfsearch::graph {

// Patterns whose period would exceed this are refused (= rfsearch.graph.patterns.MAX_PERIOD).
inline constexpr i64 max_period = i64{1} << 16;
// Exact position sets (blind spots) are kept while a unit's extent stays within this many
// positions (= rfsearch.graph.patterns.SUPPORT_LIMIT).
inline constexpr i64 support_limit = i64{1} << 20;

// What a node does. Layer kinds (conv, maxpool, avgpool, RF-neutral) share one math.
enum class Op : std::uint8_t {
    layer = 0,
    conv_transpose = 1,
    upsample = 2,
    pad = 3,
    crop = 4,       // fixed amounts
    crop_like = 5,  // centre-crop to the size of another node (Topology::like)
    adaptive_pool = 6,
    global = 7,  // global pooling, flatten, linear: one unit that sees the whole input
    add = 8,
    concat = 9,
    multiply = 10,
};
inline constexpr int n_ops = 11;
inline constexpr bool is_merge(Op op) noexcept { return op == Op::add || op == Op::concat || op == Op::multiply; }

// A table row holds, per axis, row_fields int64 values whose meaning depends on the op:
//   layer           kernel, stride, dilation, pad_before, pad_after (pad_same: TF 'SAME'), ceil_mode
//   conv_transpose  kernel, stride, dilation, pad_before, pad_after, output_padding
//   upsample        mode (UpsampleMode), scale_num, scale_den (scale_num 0: `size` is given),
//                   size, align_corners, recompute_scale_factor
//   pad, crop       before, after
//   adaptive_pool   output size (0: keep the input's size)
//   crop_like, global, merges: none
inline constexpr int row_fields = 8;
namespace field {
inline constexpr int kernel = 0, stride = 1, dilation = 2, pad_before = 3, pad_after = 4, ceil_mode = 5;
inline constexpr int output_padding = 5;
inline constexpr int mode = 0, scale_num = 1, scale_den = 2, size = 3, align_corners = 4, recompute = 5;
inline constexpr int before = 0, after = 1;
inline constexpr int out_size = 0;
}  // namespace field

enum class UpsampleMode : std::uint8_t { nearest = 0, nearest_exact = 1, linear = 2 };

// Per parameter set: why its evaluation stopped (exported as _core.GRAPH_STATUS_CODES).
enum class GraphStatus : std::uint8_t {
    ok = 0,
    collapsed = 1,         // an output size fell below 1 at node `at` (its values are written)
    overflow = 2,          // a value would leave int64 at node `at`
    size_mismatch = 3,     // a merge of different spatial sizes
    needs_input_size = 4,  // the op needs the input size ('same' with stride > 1, align_corners, ...)
    crop_too_large = 5,    // crop_like onto a larger size
    period_too_large = 6,  // a unit pattern would repeat only every more than max_period units
    bad_row = 7,           // a row id outside the table, or a row of another op than the node's
};
inline constexpr int n_graph_statuses = 8;
inline constexpr const char* graph_status_name(GraphStatus s) noexcept {
    constexpr const char* names[n_graph_statuses] = {"ok", "collapsed", "overflow", "size_mismatch",
                                                     "needs_input_size", "crop_too_large", "period_too_large",
                                                     "bad_row"};
    return names[static_cast<int>(s)];
}

// Per (set, node, axis) flags (exported as _core.GRAPH_FLAGS).
namespace flag {
inline constexpr std::uint8_t whole_input = 1;  // every path is global
inline constexpr std::uint8_t context = 2;      // a broadcast input joined (not part of rf)
inline constexpr std::uint8_t has_rf = 4;       // rf, rf_min known (unknown: whole input without a size)
inline constexpr std::uint8_t has_jump = 8;     // jump known (not whole input)
inline constexpr std::uint8_t has_start = 16;   // start, centre known (unit 0 sees something; whole: size known)
inline constexpr std::uint8_t has_size = 32;    // output size known
inline constexpr std::uint8_t misaligned = 64;  // a merge whose inputs disagree on this axis
inline constexpr std::uint8_t evaluated = 128;  // the node was evaluated (not after a stop)
}  // namespace flag

// The shared topology: V nodes in topological order. Node v's inputs are
// inputs[input_offsets[v] .. input_offsets[v + 1]), each a node index < v or -1 (the network
// input); like[v] is the node crop_like takes its size from (< v, or -1: the network input),
// -1 for other ops.
struct Topology {
    i64 n_nodes = 0;
    const std::uint8_t* op = nullptr;
    const i64* input_offsets = nullptr;
    const i64* inputs = nullptr;
    const i64* like = nullptr;
};

// Throws std::invalid_argument naming the first node that breaks the invariants above.
inline void validate(const Topology& t) {
    auto fail = [](i64 v, const std::string& what) {
        throw std::invalid_argument("topology: node " + std::to_string(v) + ": " + what);
    };
    if (t.n_nodes < 1) throw std::invalid_argument("topology: at least one node");
    if (t.input_offsets[0] != 0) fail(0, "input_offsets must start at 0");
    for (i64 v = 0; v < t.n_nodes; ++v) {
        if (t.op[v] >= n_ops) fail(v, "unknown op code " + std::to_string(t.op[v]));
        const i64 lo = t.input_offsets[v], hi = t.input_offsets[v + 1];
        const Op op = static_cast<Op>(t.op[v]);
        if (hi < lo) fail(v, "input_offsets must not decrease");
        if (is_merge(op) ? hi - lo < 1 : hi - lo != 1) fail(v, "wrong number of inputs");
        for (i64 e = lo; e < hi; ++e)
            if (t.inputs[e] < -1 || t.inputs[e] >= v) fail(v, "an input must be -1 or an earlier node");
        if (op == Op::crop_like ? (t.like[v] < -1 || t.like[v] >= v) : t.like[v] != -1)
            fail(v, "like must be -1 or an earlier node for crop_like, else -1");
    }
}

// T rows of parameters: op[t] and params (T, A, row_fields), C-contiguous.
struct Table {
    i64 n_rows = 0, n_axes = 0;
    const std::uint8_t* op = nullptr;
    const i64* params = nullptr;
    const i64* row(i64 t, i64 a) const noexcept { return params + (t * n_axes + a) * row_fields; }
};

// An (N, V) matrix of row ids of any integer type, read through byte strides.
template <class I>
struct Ids {
    const char* data = nullptr;
    std::ptrdiff_t s0 = 0, s1 = 0;
    // False if the value does not fit int64 (a uint64 above its range).
    bool get(i64 n, i64 v, i64& out) const noexcept {
        I x;
        std::memcpy(&x, data + n * s0 + v * s1, sizeof x);
        out = static_cast<i64>(x);
        if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(i64)) return x <= static_cast<I>(checked::max);
        return true;
    }
};

// Outputs: (N, V, A) arrays and (N,) per set, all C-contiguous. center2 is twice the centre
// (an integer: centres are half-integers).
struct Results {
    i64 *rf, *rf_min, *jump_num, *jump_den, *start, *center2, *size, *period;
    std::uint8_t* flags;
    std::uint8_t* status;  // (N,) GraphStatus
    i64* at;               // (N,) the node the status is about; -1 when ok
    // Optional (all null: not computed), the reference's remaining per-node values for sets whose
    // classes all have period 1 (integer jumps; `simple` (N,) says whether the set's were):
    //   blind      (N, V, A) blind spots: positions inside unit 0's extent no path reaches; -1 none
    //              (whole input, jumps that differ at a merge, an extent beyond support_limit)
    //   ext_state  (N, V, A) unit 0's extent over every path: 0 none (whole input, jumps differ),
    //              1 it sees nothing, 2 [ext_lo, ext_hi]
    i64* blind = nullptr;
    i64* ext_lo = nullptr;
    i64* ext_hi = nullptr;
    std::uint8_t* ext_state = nullptr;
    std::uint8_t* simple = nullptr;
};

// --- patterns and windows ------------------------------------------------------------------

// One unit's extent; empty (a unit that sees no input) when hi < lo.
struct Ext {
    i64 lo = 1, hi = 0;
    bool empty() const noexcept { return hi < lo; }
    friend bool operator==(const Ext& a, const Ext& b) noexcept {
        return a.empty() ? b.empty() : (a.lo == b.lo && a.hi == b.hi);
    }
};

// A path class: unit u sees ext[begin + u mod period] moved by floor(u / period) * shift.
struct Pattern {
    i64 period = 1, shift = 1;
    std::size_t begin = 0;
    std::uint64_t hash = 0;  // of (period, shift, phases); 0 until a dedup needs it
};

namespace detail {
// Floor of a / b for b > 0.
inline i64 floor_div(i64 a, i64 b) noexcept {
    const i64 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}
// a mod b in [0, b) for b > 0.
inline i64 floor_mod(i64 a, i64 b) noexcept {
    const i64 r = a % b;
    return r < 0 ? r + b : r;
}
}  // namespace detail

// What an op reads: output unit v reads the input units first + t*step, t < count, and
// taps(v + period) = taps(v) + shift.
struct Window {
    enum class Kind : std::uint8_t { strided, transposed, nearest, nearest_exact, linear, linear_corners, adaptive, constant };
    Kind kind = Kind::strided;
    i64 period = 1, shift = 1;
    // strided: stride, offset, dilation, kernel. transposed: kernel, stride, dilation, pad_before,
    // g = gcd(d, s), the inverse of d/g mod s/g. ratio kinds: p, q (input units p per q output units).
    i64 a = 1, b = 0, c = 1, d = 1, e = 1, f = 0;

    static Window strided(i64 stride, i64 offset, i64 dilation, i64 kernel) noexcept {
        return {Kind::strided, 1, stride, stride, offset, dilation, kernel, 1, 0};
    }
    static Window ratio(Kind kind, const Rational& r) noexcept { return {kind, r.den, r.num, r.num, r.den, 1, 1, 1, 0}; }

    struct Taps {
        i64 first = 0, step = 0, count = 0;
    };
    // Returns true on overflow.
    bool taps(i64 v, Taps& out) const noexcept {
        i64 x = 0, y = 0;
        switch (kind) {
            case Kind::strided:
                if (checked::mul(v, a, x) || checked::add(x, b, x)) return true;
                out = {x, c, d};
                return false;
            case Kind::transposed: {
                // Input i feeds output o through tap j when i*s = o + before - j*d.
                const i64 k = a, s = b, dil = c, g = e, sg = s / g;
                i64 target = 0;
                if (checked::add(v, d, target)) return true;
                if (detail::floor_mod(target, g) != 0) {
                    out = {0, 0, 0};
                    return false;
                }
                i64 j0 = 0;  // the least tap j with j*d = target (mod s)
                if (sg > 1) {
                    if (checked::mul(detail::floor_mod(target / g, sg), f, j0)) return true;
                    j0 = detail::floor_mod(j0, sg);
                }
                if (j0 > k - 1) {
                    out = {0, 0, 0};
                    return false;
                }
                const i64 count = (k - 1 - j0) / sg + 1;
                const i64 j_last = j0 + (count - 1) * sg;  // <= k - 1
                if (checked::mul(j_last, dil, x) || checked::sub(target, x, x)) return true;
                out = {detail::floor_div(x, s), dil / g, count};
                return false;
            }
            case Kind::nearest:  // floor(o * p / q)
                if (checked::mul(v, a, x)) return true;
                out = {detail::floor_div(x, b), 1, 1};
                return false;
            case Kind::nearest_exact:  // floor((o + 1/2) * p / q)
                if (checked::mul(v, 2, x) || checked::add(x, 1, x) || checked::mul(x, a, x) || checked::mul(b, 2, y))
                    return true;
                out = {detail::floor_div(x, y), 1, 1};
                return false;
            case Kind::linear:          // src = (o + 1/2) * p/q - 1/2 = ((2o + 1) p - q) / (2q)
            case Kind::linear_corners:  // src = o * p/q
                if (kind == Kind::linear) {
                    if (checked::mul(v, 2, x) || checked::add(x, 1, x) || checked::mul(x, a, x) ||
                        checked::sub(x, b, x) || checked::mul(b, 2, y))
                        return true;
                } else if (checked::mul(v, a, x)) {
                    return true;
                } else {
                    y = b;
                }
                {
                    const i64 i0 = detail::floor_div(x, y);
                    out = {i0, 1, detail::floor_mod(x, y) == 0 ? 1 : 2};  // the second tap weighs src - i0
                }
                return false;
            case Kind::adaptive: {  // [floor(i p / q), ceil((i + 1) p / q))
                if (checked::mul(v, a, x) || checked::add(v, 1, y) || checked::mul(y, a, y)) return true;
                const i64 lo = detail::floor_div(x, b), hi = -detail::floor_div(-y, b);
                out = {lo, 1, hi - lo};
                return false;
            }
            case Kind::constant:
                out = {0, 1, 1};
                return false;
        }
        return true;
    }
};

// --- one parameter set -----------------------------------------------------------------------

// A node's state on one axis. Classes are Workspace::classes[cls_begin, cls_end).
struct AxisNode {
    i64 size = 0;
    bool sized = false, whole = false, context = false;
    std::size_t cls_begin = 0, cls_end = 0;
    // The exact positions unit u sees (for blind spots; kept only for period-1 sets): bit i of
    // Workspace::bits[sup_word ...] is position sup_base + u * sup_shift + i, i < sup_bits.
    bool sup = false;
    i64 sup_base = 0, sup_bits = 0, sup_shift = 1;
    std::size_t sup_word = 0;
};

// What evaluating one set allocates, kept between sets (evaluate_set clears it).
struct Workspace {
    std::vector<Ext> ext;
    std::vector<Pattern> classes;
    std::vector<AxisNode> states;
    std::vector<std::int32_t> state_of;  // (V + 1) * A: row 0 is the network input
    std::vector<std::int32_t> slots;     // open-addressing set of class indices (dedup)
    std::vector<std::uint8_t> misaligned;
    std::vector<std::int32_t> local, candidates;  // a merge's inputs
    std::vector<std::uint64_t> bits;              // position sets (AxisNode::sup_word)
};

// The evaluation of one set; see evaluate_set.
class SetEvaluator {
  public:
    SetEvaluator(const Topology& topo, const Table& table, const i64* input_size, Workspace& ws) noexcept
        : topo_(topo), table_(table), n_axes_(table.n_axes), input_size_(input_size), ws_(ws) {}

    struct Stop {
        GraphStatus status = GraphStatus::ok;
        i64 at = -1;
    };

    // rows[v]: the table row of node v (ignored for merges). Writes node v's outputs at
    // out offset (set * V + v) * A. Returns the status and node.
    template <class RowOf>
    Stop run(RowOf&& row_of, const Results& r, i64 set) {
        const i64 V = topo_.n_nodes, A = n_axes_;
        detail_ = r.blind != nullptr;
        simple_ = true;
        ws_.ext.clear();
        ws_.classes.clear();
        ws_.states.clear();
        ws_.bits.clear();
        ws_.state_of.assign(static_cast<std::size_t>((V + 1) * A), -1);
        ws_.misaligned.assign(static_cast<std::size_t>(A), 0);
        for (i64 o = set * V * A; o < (set + 1) * V * A; ++o) {  // nodes not evaluated: zeros
            r.rf[o] = r.rf_min[o] = r.jump_num[o] = r.start[o] = r.center2[o] = r.size[o] = 0;
            r.jump_den[o] = r.period[o] = 1;
            r.flags[o] = 0;
            if (detail_) {
                r.blind[o] = -1;
                r.ext_lo[o] = r.ext_hi[o] = 0;
                r.ext_state[o] = 0;
            }
        }
        // The input: one identity class; axes of one size share one state.
        for (i64 a = 0; a < A; ++a) {
            std::int32_t twin = -1;
            for (i64 b = 0; b < a && twin < 0; ++b)
                if (!input_size_ || input_size_[b] == input_size_[a]) twin = ws_.state_of[static_cast<std::size_t>(b)];
            if (twin >= 0) {
                ws_.state_of[static_cast<std::size_t>(a)] = twin;
                continue;
            }
            AxisNode s;
            s.sized = input_size_ != nullptr;
            s.size = s.sized ? input_size_[a] : 0;
            s.cls_begin = ws_.classes.size();
            ws_.ext.push_back({0, 0});
            Pattern identity{1, 1, ws_.ext.size() - 1, 0};
            identity.hash = hash_of(identity);
            ws_.classes.push_back(identity);
            s.cls_end = ws_.classes.size();
            if (detail_) {  // unit u sees position u
                s.sup = true;
                s.sup_bits = 1;
                s.sup_word = ws_.bits.size();
                ws_.bits.push_back(1);
            }
            ws_.state_of[static_cast<std::size_t>(a)] = push_state(s);
        }
        for (i64 v = 0; v < V; ++v) {
            const Op op = static_cast<Op>(topo_.op[v]);
            i64 row = -1;
            if (!is_merge(op)) {
                if (!row_of(v, row) || row < 0 || row >= table_.n_rows || table_.op[row] != topo_.op[v])
                    return {GraphStatus::bad_row, v};
            }
            std::fill(ws_.misaligned.begin(), ws_.misaligned.end(), std::uint8_t{0});
            for (i64 a = 0; a < A; ++a) {
                const std::int32_t twin = twin_axis(v, op, row, a);
                if (twin >= 0) {
                    state_at(v, a) = state_at(v, twin);
                    ws_.misaligned[static_cast<std::size_t>(a)] = ws_.misaligned[static_cast<std::size_t>(twin)];
                    continue;
                }
                AxisNode s;
                const GraphStatus st = is_merge(op) ? merge(v, op, a, s) : apply(v, op, row, a, s);
                if (st != GraphStatus::ok) return {st, v};
                state_at(v, a) = push_state(s);
            }
            bool collapsed = false;
            for (i64 a = 0; a < A; ++a) {
                const i64 o = (set * V + v) * A + a;
                const std::int32_t si = state_at(v, a);
                std::int32_t prev = -1;
                for (i64 b = 0; b < a && prev < 0; ++b)
                    if (state_at(v, b) == si && (!input_size_ || input_size_[b] == input_size_[a])) prev = static_cast<std::int32_t>(b);
                if (prev >= 0) {
                    copy_out(r, (set * V + v) * A + prev, o);
                } else if (!write_out(ws_.states[static_cast<std::size_t>(si)], a, r, o)) {
                    return {GraphStatus::overflow, v};
                }
                if (ws_.misaligned[static_cast<std::size_t>(a)]) r.flags[o] |= flag::misaligned;
                const AxisNode& s = ws_.states[static_cast<std::size_t>(si)];
                if (s.sized && s.size < 1) collapsed = true;
            }
            if (collapsed) return {GraphStatus::collapsed, v};
        }
        return {};
    }

    // After run: whether every class had period 1 (the optional Results values are then complete).
    bool simple() const noexcept { return simple_; }

  private:
    const Topology& topo_;
    const Table& table_;
    i64 n_axes_;
    const i64* input_size_;
    Workspace& ws_;
    bool detail_ = false, simple_ = true;

    std::int32_t& state_at(i64 v, i64 a) { return ws_.state_of[static_cast<std::size_t>((v + 1) * n_axes_ + a)]; }
    std::int32_t state_of_input(i64 node, i64 a) {
        return ws_.state_of[static_cast<std::size_t>((node + 1) * n_axes_ + a)];
    }
    std::int32_t push_state(const AxisNode& s) {
        ws_.states.push_back(s);
        return static_cast<std::int32_t>(ws_.states.size() - 1);
    }

    // An earlier axis doing the same to the same input states (a square network: computed once).
    std::int32_t twin_axis(i64 v, Op op, i64 row, i64 a) {
        if (op == Op::crop_like) return -1;
        for (i64 b = 0; b < a; ++b) {
            if (row >= 0 && std::memcmp(table_.row(row, a), table_.row(row, b), sizeof(i64) * row_fields) != 0) continue;
            bool same = true;
            for (i64 e = topo_.input_offsets[v]; e < topo_.input_offsets[v + 1] && same; ++e)
                same = state_of_input(topo_.inputs[e], a) == state_of_input(topo_.inputs[e], b);
            if (same) return static_cast<std::int32_t>(b);
        }
        return -1;
    }

    // --- patterns ---

    bool at(const Pattern& p, i64 u, Ext& out) const noexcept {  // true on overflow
        const i64 q = detail::floor_div(u, p.period);
        const Ext& e = ws_.ext[p.begin + static_cast<std::size_t>(u - q * p.period)];
        if (e.empty()) {
            out = e;
            return false;
        }
        i64 by = 0;
        if (checked::mul(q, p.shift, by) || checked::add(e.lo, by, out.lo) || checked::add(e.hi, by, out.hi)) return true;
        return false;
    }

    static bool shifted_equal(const Ext& x, i64 by, const Ext& y) noexcept {
        if (x.empty() || y.empty()) return x.empty() && y.empty();
        i64 lo = 0, hi = 0;
        return !checked::add(x.lo, by, lo) && !checked::add(x.hi, by, hi) && lo == y.lo && hi == y.hi;
    }

    // The same pattern with its smallest period (the tail of ws_.ext is its phases).
    void canonical(Pattern& p) {
        const i64 a = p.period;
        if (a == 1) return;
        std::vector<i64> divisors;  // ascending, < a
        for (i64 d = 1; d * d <= a; ++d)
            if (a % d == 0) divisors.push_back(d);
        for (std::size_t i = divisors.size(); i-- > 0;)
            if (divisors[i] * divisors[i] != a) divisors.push_back(a / divisors[i]);
        for (const i64 d : divisors) {
            if (d == a || detail::floor_mod(p.shift, a) * d % a != 0) continue;
            const i64 step = p.shift / a * d + detail::floor_mod(p.shift, a) * d / a;
            bool same = true;
            for (i64 u = 0; u + d < a && same; ++u)
                same = shifted_equal(ws_.ext[p.begin + static_cast<std::size_t>(u)], step,
                                     ws_.ext[p.begin + static_cast<std::size_t>(u + d)]);
            if (same) {
                p.period = d;
                p.shift = step;
                ws_.ext.resize(p.begin + static_cast<std::size_t>(d));
                return;
            }
        }
    }

    // Appends pattern-after-window (canonical) to ws_.ext; returns the status.
    GraphStatus compose(const Pattern& p, const Window& w, Pattern& out) {
        const i64 g = rational::gcd(p.period, w.shift);  // gcd(a, 0) = a: a window that does not move
        const i64 m = p.period / g;
        i64 period = 0, shift = 0;
        if (checked::mul(w.period, m, period) || period > max_period) return GraphStatus::period_too_large;
        if (checked::mul(w.shift / g, p.shift, shift)) return GraphStatus::overflow;
        out = {period, shift, ws_.ext.size()};
        for (i64 v = 0; v < period; ++v) {
            Window::Taps t;
            if (w.taps(v, t)) return GraphStatus::overflow;
            // lo over the first `cycle` taps, hi over the last: beyond, they repeat moved by >= 0.
            const i64 cycle = std::min(t.count, t.step ? p.period / rational::gcd(p.period, t.step) : i64{1});
            Ext e{checked::max, checked::min};
            bool seen = false;
            for (i64 k = 0; k < cycle; ++k) {
                Ext x;
                i64 u = 0;
                if (checked::mul(k, t.step, u) || checked::add(t.first, u, u) || at(p, u, x)) return GraphStatus::overflow;
                if (!x.empty()) {
                    e.lo = std::min(e.lo, x.lo);
                    seen = true;
                }
            }
            for (i64 k = t.count - cycle; k < t.count; ++k) {
                Ext x;
                i64 u = 0;
                if (checked::mul(k, t.step, u) || checked::add(t.first, u, u) || at(p, u, x)) return GraphStatus::overflow;
                if (!x.empty()) e.hi = std::max(e.hi, x.hi);
            }
            ws_.ext.push_back(seen ? e : Ext{});
        }
        canonical(out);
        return GraphStatus::ok;
    }

    // A period-1 class through a conv / pooling layer: the fold (fold.hpp), as stacks have it.
    GraphStatus fold_class(const Pattern& p, const LayerParams& lp, const AxisNode& in, Pattern& out) {
        const Ext& e = ws_.ext[p.begin];
        AxisState<i64> s, n;
        if (checked::sub(e.hi, e.lo, s.rf) || checked::add(s.rf, 1, s.rf) || e.lo == checked::min)
            return GraphStatus::overflow;
        s.jump = p.shift;
        s.padding = -e.lo;
        s.size = in.size;
        if (fold_layer(s, lp, in.sized, n) == Status::overflow) return GraphStatus::overflow;
        i64 hi = 0;
        if (checked::sub(n.rf, 1, hi) || checked::sub(hi, n.padding, hi) || n.padding == checked::min)
            return GraphStatus::overflow;
        ws_.ext.push_back({-n.padding, hi});
        out = {1, n.jump, ws_.ext.size() - 1};
        return GraphStatus::ok;
    }

    // Adds pattern p as a class unless an equal one is in classes[first, end). `tail`: p's
    // phases are the tail of ws_.ext, dropped if p is not added (else they belong to another class).
    // splitmix64's finaliser on every value: extents differ by multiples of the jump (powers
    // of two), which a plain multiply-xor hash would pile into a few slots.
    static std::uint64_t mix(std::uint64_t x) noexcept {
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
        return x ^ (x >> 31);
    }

    std::uint64_t hash_of(const Pattern& p) const noexcept {
        std::uint64_t h = mix(static_cast<std::uint64_t>(p.period) * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(p.shift));
        for (i64 u = 0; u < p.period; ++u) {
            const Ext& e = ws_.ext[p.begin + static_cast<std::size_t>(u)];
            const std::uint64_t lo = e.empty() ? 0x5bd1e995u : static_cast<std::uint64_t>(e.lo);
            const std::uint64_t hi = e.empty() ? 0x1b873593u : static_cast<std::uint64_t>(e.hi);
            h = mix(h ^ lo) + hi;
        }
        return mix(h);
    }

    // Adds pattern p as a class unless an equal one is in classes[first, end). `tail`: p is new,
    // its phases the tail of ws_.ext (dropped if p is not added); else p is an existing class (a
    // merge's input's: its phases are kept).
    void insert_class(Pattern p, std::size_t first, bool tail = true) {
        const std::size_t mask = ws_.slots.size() - 1;
        if (p.hash == 0) p.hash = hash_of(p);  // 0: not computed yet (a hash of 0 is recomputed, harmlessly)
        for (std::size_t i = static_cast<std::size_t>(p.hash) & mask;; i = (i + 1) & mask) {
            const std::int32_t c = ws_.slots[i];
            if (c < 0) {
                ws_.slots[i] = static_cast<std::int32_t>(ws_.classes.size());
                ws_.classes.push_back(p);
                return;
            }
            const Pattern& q = ws_.classes[static_cast<std::size_t>(c)];
            if (q.hash != p.hash || static_cast<std::size_t>(c) < first || q.period != p.period || q.shift != p.shift)
                continue;
            bool same = true;
            for (i64 u = 0; u < p.period && same; ++u)
                same = ws_.ext[q.begin + static_cast<std::size_t>(u)] == ws_.ext[p.begin + static_cast<std::size_t>(u)];
            if (same) {
                if (tail) ws_.ext.resize(p.begin);
                return;
            }
        }
    }

    void reset_slots(std::size_t candidates) {
        std::size_t n = 16;
        while (n < 2 * candidates) n *= 2;
        ws_.slots.assign(n, -1);
    }

    // --- ops ---

    // The window and output size of a single-input op on one axis (window kind constant with
    // period 0 marks a global op: no window).
    GraphStatus window_of(i64 v, Op op, const i64* p, const AxisNode& in, i64 a, Window& w, AxisNode& s, bool& global) {
        global = false;
        s.sized = in.sized;
        const i64 n = in.size;
        switch (op) {
            case Op::layer: {
                const LayerParams lp{p[field::kernel], p[field::stride], p[field::dilation], p[field::pad_before],
                                     p[field::pad_after], p[field::ceil_mode] != 0};
                const ParamError pe = check_params(lp, in.sized);
                if (pe == ParamError::same_needs_size) return GraphStatus::needs_input_size;
                if (pe != ParamError::none) return GraphStatus::bad_row;
                AxisState<i64> unit, after;  // the fold on a unit state: the size and the padding it resolves
                unit.size = n;
                if (fold_layer(unit, lp, in.sized, after) == Status::overflow) return GraphStatus::overflow;
                s.size = after.size;
                w = Window::strided(lp.stride, -after.padding, lp.dilation, lp.kernel);
                return GraphStatus::ok;
            }
            case Op::pad:
            case Op::crop: {
                const i64 before = p[field::before], after = p[field::after];
                if (before < 0 || after < 0) return GraphStatus::bad_row;
                w = Window::strided(1, op == Op::pad ? -before : before, 1, 1);
                if (in.sized) {
                    if (op == Op::pad ? (checked::add(n, before, s.size) || checked::add(s.size, after, s.size))
                                      : (checked::sub(n, before, s.size) || checked::sub(s.size, after, s.size)))
                        return GraphStatus::overflow;
                }
                return GraphStatus::ok;
            }
            case Op::crop_like: {
                const AxisNode& target = ws_.states[static_cast<std::size_t>(state_of_input(topo_.like[v], a))];
                if (!in.sized || !target.sized) return GraphStatus::needs_input_size;
                const i64 m = target.size;
                if (m > n) return GraphStatus::crop_too_large;
                const i64 before = (n - m) / 2;
                w = Window::strided(1, before, 1, 1);
                s.size = m;
                return GraphStatus::ok;
            }
            case Op::conv_transpose: {
                const i64 k = p[field::kernel], st = p[field::stride], d = p[field::dilation];
                const i64 before = p[field::pad_before], after = p[field::pad_after], extra = p[field::output_padding];
                if (k < 1 || st < 1 || d < 1 || before < 0 || after < 0 || extra < 0) return GraphStatus::bad_row;
                const i64 g = rational::gcd(d, st), sg = st / g;
                i64 inverse = 0;  // of (d / g) mod sg
                if (sg > 1) {
                    const i64 dg = (d / g) % sg;
                    // extended Euclid on (dg, sg): both < 2^63, intermediate values stay within them
                    i64 r0 = sg, r1 = dg, t0 = 0, t1 = 1;
                    while (r1 != 0) {
                        const i64 q = r0 / r1;
                        const i64 r2 = r0 - q * r1;
                        i64 qt = 0;
                        if (checked::mul(q, t1, qt)) return GraphStatus::overflow;
                        const i64 t2 = t0 - qt;
                        r0 = r1;
                        r1 = r2;
                        t0 = t1;
                        t1 = t2;
                    }
                    inverse = detail::floor_mod(t0, sg);
                }
                w = {Window::Kind::transposed, st, 1, k, st, d, before, g, inverse};
                if (in.sized) {  // (n - 1) s - before - after + d (k - 1) + output_padding + 1
                    i64 x = 0, y = 0;
                    if (checked::mul(n - 1, st, x) || checked::sub(x, before, x) || checked::sub(x, after, x) ||
                        checked::mul(d, k - 1, y) || checked::add(x, y, x) || checked::add(x, extra, x) ||
                        checked::add(x, 1, s.size))
                        return GraphStatus::overflow;
                }
                return GraphStatus::ok;
            }
            case Op::upsample: {
                const i64 mode = p[field::mode], num = p[field::scale_num], den = p[field::scale_den];
                const bool size_given = num == 0, corners = p[field::align_corners] != 0, recompute = p[field::recompute] != 0;
                if (mode < 0 || mode > 2 || (size_given ? p[field::size] < 1 : (num < 1 || den < 1)))
                    return GraphStatus::bad_row;
                i64 m = 0;
                bool m_known = true;
                if (size_given) {
                    m = p[field::size];
                } else if (in.sized) {
                    i64 x = 0;
                    if (checked::mul(n, num, x)) return GraphStatus::overflow;
                    m = detail::floor_div(x, den);
                } else {
                    m_known = false;
                }
                s.sized = m_known;
                s.size = m;
                if (m_known && m < 1) {  // collapses here: the identity window, as the reference
                    w = Window::strided(1, 0, 1, 1);
                    return GraphStatus::ok;
                }
                Rational r;
                if (corners) {
                    if (!in.sized) return GraphStatus::needs_input_size;
                    if (m > 1 ? rational::make(n - 1, m - 1, r) : rational::make(0, 1, r)) return GraphStatus::overflow;
                } else if (size_given || recompute) {
                    if (!in.sized) return GraphStatus::needs_input_size;
                    if (rational::make(n, m, r)) return GraphStatus::overflow;
                } else if (rational::make(den, num, r)) {
                    return GraphStatus::overflow;
                }
                if (r.num == 0) {  // align_corners onto one unit, or from one: every unit reads input 0
                    w = {Window::Kind::constant, 1, 0, 0, 1, 1, 1, 1, 0};
                    return GraphStatus::ok;
                }
                const auto kind = static_cast<UpsampleMode>(mode) == UpsampleMode::nearest ? Window::Kind::nearest
                                  : static_cast<UpsampleMode>(mode) == UpsampleMode::nearest_exact
                                      ? Window::Kind::nearest_exact
                                  : corners ? Window::Kind::linear_corners
                                            : Window::Kind::linear;
                w = Window::ratio(kind, r);
                return GraphStatus::ok;
            }
            case Op::adaptive_pool: {
                const i64 m = p[field::out_size];
                if (m < 0) return GraphStatus::bad_row;
                if (m == 1) {
                    global = true;
                    s.sized = true;
                    s.size = 1;
                    return GraphStatus::ok;
                }
                if (m == 0) {  // keep the size: unit i pools input i
                    w = Window::strided(1, 0, 1, 1);
                    s.size = n;
                    return GraphStatus::ok;
                }
                if (!in.sized) return GraphStatus::needs_input_size;
                Rational r;
                if (rational::make(n, m, r)) return GraphStatus::overflow;
                w = Window::ratio(Window::Kind::adaptive, r);
                s.size = m;
                return GraphStatus::ok;
            }
            case Op::global:
                global = true;
                s.sized = true;
                s.size = 1;
                return GraphStatus::ok;
            default:
                return GraphStatus::bad_row;
        }
    }

    GraphStatus apply(i64 v, Op op, i64 row, i64 a, AxisNode& s) {
        const AxisNode in = ws_.states[static_cast<std::size_t>(state_of_input(topo_.inputs[topo_.input_offsets[v]], a))];
        const i64* p = table_.row(row, a);
        Window w;
        bool global = false;
        GraphStatus st = window_of(v, op, p, in, a, w, s, global);
        if (st != GraphStatus::ok) return st;
        s.context = in.context;
        s.cls_begin = s.cls_end = ws_.classes.size();
        if (global || in.whole) {  // every unit sees the whole input from here on
            s.whole = true;
            return GraphStatus::ok;
        }
        const LayerParams lp{p[field::kernel], p[field::stride], p[field::dilation], p[field::pad_before],
                             p[field::pad_after], p[field::ceil_mode] != 0};
        // Period-1 classes that see something go through the fold, which maps distinct classes to
        // distinct classes (the same shift of lo and hi for equal jumps; the jumps stay apart):
        // when every class does, no duplicate can arise and none is looked for.
        bool all_fold = op == Op::layer;
        for (std::size_t c = in.cls_begin; c < in.cls_end && all_fold; ++c)
            all_fold = ws_.classes[c].period == 1 && !ws_.ext[ws_.classes[c].begin].empty();
        if (!all_fold) reset_slots(in.cls_end - in.cls_begin);
        for (std::size_t c = in.cls_begin; c < in.cls_end; ++c) {
            const Pattern src = ws_.classes[c];
            Pattern out;
            const bool seen = !ws_.ext[src.begin].empty();  // a period-1 class that sees something
            st = op == Op::layer && src.period == 1 && seen ? fold_class(src, lp, in, out) : compose(src, w, out);
            if (st != GraphStatus::ok) return st;
            if (all_fold)
                ws_.classes.push_back(out);  // its hash is computed when a merge needs it
            else
                insert_class(out, s.cls_begin);
        }
        s.cls_end = ws_.classes.size();
        if (detail_) support_after(in, w, s);
        return GraphStatus::ok;
    }

    // --- position sets (blind spots), period-1 sets only ---

    bool all_period1(const AxisNode& s) const noexcept {
        for (std::size_t c = s.cls_begin; c < s.cls_end; ++c)
            if (ws_.classes[c].period != 1) return false;
        return true;
    }

    // The widest extent over the classes plus the largest shift (the reference's _widest): sets
    // are kept while it is at most support_limit. False on overflow (then: too wide).
    bool widest_fits(const AxisNode& s) const noexcept {
        i64 lo = checked::max, hi = checked::min, shift = 0;
        for (std::size_t c = s.cls_begin; c < s.cls_end; ++c) {
            const Pattern& p = ws_.classes[c];
            for (i64 u = 0; u < p.period; ++u) {
                const Ext& e = ws_.ext[p.begin + static_cast<std::size_t>(u)];
                if (e.empty()) continue;
                lo = std::min(lo, e.lo);
                hi = std::max(hi, e.hi);
            }
            shift = std::max(shift, p.shift);
        }
        if (lo > hi) return true;  // nothing seen: width 0
        i64 w = 0;
        return !checked::sub(hi, lo, w) && !checked::add(w, 1, w) && !checked::add(w, shift, w) && w <= support_limit;
    }

    // ws_.bits[dst ..] (n_dst words) |= ws_.bits[src ..] (bits src_bits) moved up by `by` >= 0
    // bits; bits past n_dst words dropped. Walks from the top word down, so src may be dst
    // itself: each step reads a word below every word written so far.
    void or_into(std::size_t dst, std::size_t n_dst, std::size_t src, i64 src_bits, i64 by) noexcept {
        const auto n_src = static_cast<std::size_t>((src_bits + 63) / 64);
        const auto word = static_cast<std::size_t>(by / 64);
        const auto bit = static_cast<unsigned>(by % 64);
        for (std::size_t i = n_src; i-- > 0;) {
            if (word + i >= n_dst) continue;
            const std::uint64_t x = ws_.bits[src + i];
            if (bit != 0 && word + i + 1 < n_dst) ws_.bits[dst + word + i + 1] |= x >> (64 - bit);
            ws_.bits[dst + word + i] |= x << bit;
        }
    }

    // Appends a zeroed set of `bits` bits; returns its first word.
    std::size_t new_set(i64 bits) {
        const std::size_t at = ws_.bits.size();
        ws_.bits.resize(at + static_cast<std::size_t>((bits + 63) / 64), 0);
        return at;
    }

    i64 holes(const AxisNode& s) const noexcept {
        i64 seen = 0;
        for (i64 i = 0; i < (s.sup_bits + 63) / 64; ++i) seen += rfsearch::detail::popcount64(ws_.bits[s.sup_word + static_cast<std::size_t>(i)]);
        return s.sup_bits - seen;
    }

    // The sets after a single-input op (the reference's compose_support, period 1): unit 0 is the
    // union of the sets of the input units it reads. Windows with a period, or classes that get
    // one, leave the set's optional values to the reference (simple_ false).
    void support_after(const AxisNode& in, const Window& w, AxisNode& s) {
        s.sup = false;
        if (!in.sup) return;
        if (w.period != 1 || !all_period1(s)) {
            simple_ = false;
            return;
        }
        if (!widest_fits(s)) return;
        Window::Taps t;
        i64 base = 0, gap = 0, span = 0, shift = 0;
        if (w.taps(0, t) || t.count < 1) {
            simple_ = false;
            return;
        }
        if (checked::mul(t.first, in.sup_shift, base) || checked::add(base, in.sup_base, base) ||
            checked::mul(t.step, in.sup_shift, gap) || checked::mul(t.count - 1, gap, span) ||
            checked::add(span, in.sup_bits, span) || span > support_limit || checked::mul(w.shift, in.sup_shift, shift))
            return;
        // The union of count copies of the input's set, gap apart, by doubling (as reach.hpp):
        // A_2m = A_m | A_m << m*gap, A_m+1 = A_m | A_1 << m*gap; O(log count) passes.
        const std::size_t at = new_set(span);
        const auto n_dst = static_cast<std::size_t>((span + 63) / 64);
        or_into(at, n_dst, in.sup_word, in.sup_bits, 0);
        int top = 62;
        while (((t.count >> top) & 1) == 0) --top;
        i64 m = 1;
        for (int b = top - 1; b >= 0; --b) {
            or_into(at, n_dst, at, (m - 1) * gap + in.sup_bits, m * gap);
            m *= 2;
            if ((t.count >> b) & 1) {
                or_into(at, n_dst, in.sup_word, in.sup_bits, m * gap);
                m += 1;
            }
        }
        s.sup = true;
        s.sup_base = base;
        s.sup_bits = span;
        s.sup_shift = shift;
        s.sup_word = at;
    }

    // The sets at a merge (the reference's union_support): none unless every input has them
    // and their jumps agree.
    void support_merge(const std::vector<std::int32_t>& use, AxisNode& s) {
        s.sup = false;
        if (!all_period1(s)) {
            simple_ = false;
            return;
        }
        i64 base = checked::max, end = checked::min;
        for (const std::int32_t si : use) {
            const AxisNode& in = ws_.states[static_cast<std::size_t>(si)];
            if (!in.sup) return;
            i64 top = 0;
            if (checked::add(in.sup_base, in.sup_bits, top)) return;
            base = std::min(base, in.sup_base);
            end = std::max(end, top);
        }
        if (!widest_fits(s)) return;
        const i64 shift = ws_.states[static_cast<std::size_t>(use[0])].sup_shift;
        for (const std::int32_t si : use)
            if (ws_.states[static_cast<std::size_t>(si)].sup_shift != shift) return;
        const i64 span = end - base;
        if (span > support_limit) return;
        const std::size_t at = new_set(span);
        for (const std::int32_t si : use) {
            const AxisNode& in = ws_.states[static_cast<std::size_t>(si)];
            or_into(at, static_cast<std::size_t>((span + 63) / 64), in.sup_word, in.sup_bits, in.sup_base - base);
        }
        s.sup = true;
        s.sup_base = base;
        s.sup_bits = span;
        s.sup_shift = shift;
        s.sup_word = at;
    }

    // The class with the largest RF over the units `phases` shows (the first on ties), and that RF.
    std::size_t representative(const AxisNode& s, i64& best_rf) const {
        std::size_t best = s.cls_begin;
        best_rf = -1;
        for (std::size_t c = s.cls_begin; c < s.cls_end; ++c) {
            const i64 rf = max_rf(ws_.classes[c], s);
            if (rf > best_rf) {
                best = c;
                best_rf = rf;
            }
        }
        return best;
    }

    static i64 phases(const Pattern& p, const AxisNode& s) noexcept {
        return !s.sized || s.size < 1 ? p.period : std::min(p.period, s.size);
    }

    // RF of one unit's extent (0: empty); saturates instead of overflowing (callers check the
    // extreme values with checked arithmetic where they report them).
    static i64 width(const Ext& e) noexcept {
        if (e.empty()) return 0;
        i64 w = 0;
        if (checked::sub(e.hi, e.lo, w) || w == checked::max) return checked::max;
        return w + 1;
    }

    i64 max_rf(const Pattern& p, const AxisNode& s) const noexcept {
        i64 best = 0;
        for (i64 u = 0; u < phases(p, s); ++u) best = std::max(best, width(ws_.ext[p.begin + static_cast<std::size_t>(u)]));
        return best;
    }

    // Distill's alignment quantity: jump, and the centre line mean_u(centre(u) - jump*u) over the
    // non-empty units of one period (none: `has_line` false). True on overflow.
    bool alignment_key(const Pattern& p, Rational& jump, Rational& line, bool& has_line) const noexcept {
        if (rational::make(p.shift, p.period, jump)) return true;
        // sum_u [period (lo + hi) - 2 shift u] / (2 period count)
        i64 sum = 0, count = 0;
        for (i64 u = 0; u < p.period; ++u) {
            const Ext& e = ws_.ext[p.begin + static_cast<std::size_t>(u)];
            if (e.empty()) continue;
            i64 x = 0, y = 0;
            if (checked::add(e.lo, e.hi, x) || checked::mul(x, p.period, x) || checked::mul(p.shift, 2 * u, y) ||
                checked::sub(x, y, x) || checked::add(sum, x, sum))
                return true;
            ++count;
        }
        has_line = count > 0;
        if (!has_line) return false;
        i64 den = 0;
        if (checked::mul(2 * p.period, count, den)) return true;
        return rational::make(sum, den, line);
    }

    GraphStatus merge(i64 v, Op op, i64 a, AxisNode& s) {
        const i64 lo = topo_.input_offsets[v], hi = topo_.input_offsets[v + 1];
        bool all_sized = true;
        i64 size = 0;
        for (i64 e = lo; e < hi; ++e) {
            const AxisNode& in = ws_.states[static_cast<std::size_t>(state_of_input(topo_.inputs[e], a))];
            all_sized = all_sized && in.sized;
            if (in.sized) size = std::max(size, in.size);
        }
        if (all_sized)
            for (i64 e = lo; e < hi; ++e) {
                const i64 n = ws_.states[static_cast<std::size_t>(state_of_input(topo_.inputs[e], a))].size;
                if (n != size && (op == Op::concat || n != 1)) return GraphStatus::size_mismatch;
            }
        s.sized = all_sized;
        s.size = all_sized ? size : 0;
        // Local inputs: not global, not size 1 against a larger size, not jump 0 on every class;
        // if every candidate is such, all candidates are local. The others broadcast (context).
        std::vector<std::int32_t>& local = ws_.local;
        std::vector<std::int32_t>& candidates = ws_.candidates;
        local.clear();
        candidates.clear();
        bool context = false;
        for (i64 e = lo; e < hi; ++e) {
            const std::int32_t si = state_of_input(topo_.inputs[e], a);
            const AxisNode& in = ws_.states[static_cast<std::size_t>(si)];
            context = context || in.context;
            if (in.whole) continue;
            candidates.push_back(si);
            bool moving = false;
            for (std::size_t c = in.cls_begin; c < in.cls_end && !moving; ++c) moving = ws_.classes[c].shift != 0;
            const bool broadcast = all_sized && size > 1 && in.size == 1;
            if (!broadcast && moving) local.push_back(si);
        }
        const std::vector<std::int32_t>& use = local.empty() ? candidates : local;
        const int n_use = static_cast<int>(use.size());
        s.context = context || n_use < hi - lo;
        s.cls_begin = s.cls_end = ws_.classes.size();
        if (n_use == 0) {
            s.whole = true;
            return GraphStatus::ok;
        }
        auto input = [&](int i) -> const AxisNode& { return ws_.states[static_cast<std::size_t>(use[static_cast<std::size_t>(i)])]; };
        // Alignment: the inputs' max-RF classes must agree on jump and centre line.
        Rational jump0, line0;
        bool has0 = false;
        for (int i = 0; i < n_use; ++i) {
            i64 rf = 0;
            const AxisNode& in = input(i);
            const Pattern& rep = ws_.classes[representative(in, rf)];
            Rational jump, line;
            bool has = false;
            if (alignment_key(rep, jump, line, has)) return GraphStatus::overflow;
            if (i == 0) {
                jump0 = jump;
                line0 = line;
                has0 = has;
            } else if (jump != jump0 || has != has0 || (has && line != line0)) {
                ws_.misaligned[static_cast<std::size_t>(a)] = 1;
            }
        }
        std::size_t total = 0;
        for (int i = 0; i < n_use; ++i) total += input(i).cls_end - input(i).cls_begin;
        reset_slots(total);
        for (int i = 0; i < n_use; ++i) {
            const AxisNode& in = input(i);
            for (std::size_t c = in.cls_begin; c < in.cls_end; ++c) {
                if (ws_.classes[c].hash == 0) ws_.classes[c].hash = hash_of(ws_.classes[c]);  // once per class
                insert_class(ws_.classes[c], s.cls_begin, false);
            }
        }
        s.cls_end = ws_.classes.size();
        if (detail_) support_merge(use, s);
        return GraphStatus::ok;
    }

    // Node values on one axis at output offset o; false on overflow.
    bool write_out(const AxisNode& s, i64 a, const Results& r, i64 o) {
        std::uint8_t fl = flag::evaluated;
        if (s.sized) fl |= flag::has_size;
        if (s.context) fl |= flag::context;
        r.size[o] = s.sized ? s.size : 0;
        r.jump_num[o] = 0;
        r.jump_den[o] = 1;
        r.start[o] = r.center2[o] = 0;
        r.period[o] = 1;
        r.rf[o] = r.rf_min[o] = 0;
        if (detail_) write_detail(s, r, o);
        if (s.whole) {
            fl |= flag::whole_input;
            if (input_size_) {
                const i64 n = input_size_[a];
                r.rf[o] = r.rf_min[o] = n;
                r.center2[o] = n - 1;
                fl |= flag::has_rf | flag::has_start;
            }
            r.flags[o] = fl;
            return true;
        }
        // One pass: the max-RF class (the first on ties) and the least RF over classes and units.
        std::size_t best = s.cls_begin;
        i64 best_rf = -1, least = checked::max;
        for (std::size_t c = s.cls_begin; c < s.cls_end; ++c) {
            const Pattern& p = ws_.classes[c];
            i64 most = 0;
            for (i64 u = 0; u < phases(p, s); ++u) {
                const Ext& e = ws_.ext[p.begin + static_cast<std::size_t>(u)];
                i64 w = 0;
                if (!e.empty() && (checked::sub(e.hi, e.lo, w) || checked::add(w, 1, w))) return false;
                most = std::max(most, w);
                least = std::min(least, w);
            }
            if (most > best_rf) {
                best = c;
                best_rf = most;
            }
        }
        const Pattern& rep = ws_.classes[best];
        r.rf[o] = best_rf;
        r.rf_min[o] = least;
        fl |= flag::has_rf | flag::has_jump;
        Rational jump;
        if (rational::make(rep.shift, rep.period, jump)) return false;
        r.jump_num[o] = jump.num;
        r.jump_den[o] = jump.den;
        r.period[o] = rep.period;
        const Ext& unit0 = ws_.ext[rep.begin];
        if (!unit0.empty()) {
            if (checked::add(unit0.lo, unit0.hi, r.center2[o])) return false;
            r.start[o] = unit0.lo;
            fl |= flag::has_start;
        }
        r.flags[o] = fl;
        return true;
    }

    // Blind spots and unit 0's extent over every path (the reference's _axis_result, _extent).
    void write_detail(const AxisNode& s, const Results& r, i64 o) {
        r.blind[o] = -1;
        r.ext_state[o] = 0;
        r.ext_lo[o] = r.ext_hi[o] = 0;
        if (s.whole) return;
        if (!all_period1(s)) {
            simple_ = false;
            return;
        }
        if (s.sup) r.blind[o] = holes(s);
        const i64 shift = ws_.classes[s.cls_begin].shift;
        i64 lo = checked::max, hi = checked::min;
        for (std::size_t c = s.cls_begin; c < s.cls_end; ++c) {
            const Pattern& p = ws_.classes[c];
            if (p.shift != shift) return;  // jumps differ: no single extent
            const Ext& e = ws_.ext[p.begin];
            if (e.empty()) continue;
            lo = std::min(lo, e.lo);
            hi = std::max(hi, e.hi);
        }
        r.ext_state[o] = lo > hi ? 1 : 2;
        if (lo <= hi) {
            r.ext_lo[o] = lo;
            r.ext_hi[o] = hi;
        }
    }

    static void copy_out(const Results& r, i64 from, i64 to) noexcept {
        r.rf[to] = r.rf[from];
        r.rf_min[to] = r.rf_min[from];
        r.jump_num[to] = r.jump_num[from];
        r.jump_den[to] = r.jump_den[from];
        r.start[to] = r.start[from];
        r.center2[to] = r.center2[from];
        r.size[to] = r.size[from];
        r.period[to] = r.period[from];
        r.flags[to] = static_cast<std::uint8_t>(r.flags[from] & ~flag::misaligned);
        if (r.blind != nullptr) {
            r.blind[to] = r.blind[from];
            r.ext_lo[to] = r.ext_lo[from];
            r.ext_hi[to] = r.ext_hi[from];
            r.ext_state[to] = r.ext_state[from];
        }
    }
};

// Evaluates parameter set `set` (row ids ids(set, v)) and writes its outputs and status.
template <class I>
void evaluate_set(const Topology& topo, const Table& table, const Ids<I>& ids, i64 set, const i64* input_size,
                  const Results& r, Workspace& ws) {
    SetEvaluator ev(topo, table, input_size, ws);
    const auto stop = ev.run([&](i64 v, i64& row) { return ids.get(set, v, row); }, r, set);
    r.status[set] = static_cast<std::uint8_t>(stop.status);
    r.at[set] = stop.at;
    if (r.simple != nullptr) r.simple[set] = ev.simple() ? 1 : 0;
}

// Evaluates sets [0, n_sets) on up to `threads` threads (<= 0: all), chunk by chunk, calling
// poll() between the calling thread's chunks (true: cancel). Returns false if cancelled.
// Rethrows the first exception of any worker (std::bad_alloc) after all have stopped.
template <class I, class Poll>
bool evaluate_sets(const Topology& topo, const Table& table, const Ids<I>& ids, i64 n_sets, const i64* input_size,
                   const Results& r, std::int64_t threads, Poll&& poll) {
    validate(topo);
    if (table.n_axes < 1) throw std::invalid_argument("graph table: at least one axis");
    std::mutex lock;
    std::exception_ptr error;
    bool failed = false;
    // Chunks of up to 64 sets, at least 32 per thread: the caller polls often enough for Ctrl-C.
    const int n_threads = resolve_threads(threads);
    const std::int64_t chunk = std::clamp<std::int64_t>(n_sets / (std::int64_t{32} * n_threads), 1, 64);
    const bool done = run_chunked(
        n_sets, n_threads, chunk,
        [&](std::int64_t lo, std::int64_t hi) {
            try {
                Workspace ws;
                for (std::int64_t n = lo; n < hi; ++n) evaluate_set(topo, table, ids, n, input_size, r, ws);
            } catch (...) {
                std::lock_guard<std::mutex> guard(lock);
                if (!error) error = std::current_exception();
                failed = true;
            }
        },
        [&] {
            {
                std::lock_guard<std::mutex> guard(lock);
                if (failed) return true;
            }
            return poll();
        });
    if (error) std::rethrow_exception(error);
    return done;
}

}  // namespace rfsearch::graph
