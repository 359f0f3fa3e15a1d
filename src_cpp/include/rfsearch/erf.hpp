// The exact uniform-weight effective receptive field: how many paths reach each input position.
//
// Luo et al. (NeurIPS 2016) give every weight the same value: the gradient of one output unit with
// respect to the input is then, up to a constant, the number of paths from that unit down to each
// input position. rfsearch counts those paths exactly:
//
// - a chain (`chain_erf`): per axis, the convolution of every layer's tap indicator (k taps,
//   d apart) scaled by the jump of the layer's input: positions 0 .. rf-1 from the RF's start,
//   as if no border were near (Distill's convention: padding positions count as positions);
// - a graph (`graph_erf`): one output unit's counts pushed back through every node to the input,
//   node by node in reverse topological order; a node with several inputs (add, concat, multiply)
//   sends its counts to each of them (a sum over merges). Each edge says, per axis, which input
//   units a unit reads (a periodic window: transposed convolutions, upsampling and adaptive
//   pooling included), and the N-D scatter is done one axis at a time. With `borders`, a tap that
//   lands outside its input's units (padding, a transposed convolution's missing units) carries no
//   path: the counts are exactly what the gradient of a uniform network shows.
//
// Counts are checked int64 (an addition past 2^63 - 1 is detected, never wrapped); the callers
// then recount in double, where each count is within a relative (number of additions) * 2^-53.
// Header-only, no Python: compiled and tested alone by tests/cpp/test_erf.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "checked.hpp"

namespace rfsearch::erf {

// More positions than this in one box is refused (memory), naming the node.
inline constexpr i64 max_box_elements = i64{1} << 28;

// Adds b to a (non-negative counts). int64: throws std::overflow_error past 2^63 - 1.
inline void add_to(i64& a, i64 b) {
    if (checked::add(a, b, a)) throw std::overflow_error("path counts exceed the int64 range");
}
inline void add_to(double& a, double b) noexcept { a += b; }

inline i64 floor_div(i64 a, i64 b) noexcept {  // b > 0
    const i64 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

// Unit v of the consumer reads producer units first(v) + t * step(v), 0 <= t < count(v), where
// first(v + period) = first(v) + shift; one period of (first, step, count) is stored.
struct AxisWindow {
    i64 period = 1;
    i64 shift = 1;
    std::vector<i64> first{0}, step{1}, count{1};

    void taps(i64 v, i64& f, i64& s, i64& c) const {
        const i64 q = floor_div(v, period);
        const auto r = static_cast<std::size_t>(v - q * period);
        i64 moved;
        if (checked::mul(q, shift, moved) || checked::add(first[r], moved, f))
            throw std::overflow_error("a window's position exceeds the int64 range");
        s = step[r];
        c = count[r];
    }

    void check(const char* where) const {
        const auto n = static_cast<std::size_t>(period);
        if (period < 1 || first.size() != n || step.size() != n || count.size() != n)
            throw std::invalid_argument(std::string(where) + ": a window needs period >= 1 and one (first, step, "
                                        "count) per phase");
        for (std::size_t r = 0; r < n; ++r)
            if (step[r] < 0 || count[r] < 0)
                throw std::invalid_argument(std::string(where) + ": window steps and counts must be >= 0");
    }
};

// The consumer's units read the producer's units through one window per axis.
struct Edge {
    int consumer = 0;
    int producer = 0;
    std::vector<AxisWindow> axes;
};

// An axis-aligned box of unit indices [lo, hi] per axis (lo > hi on some axis: empty).
struct Box {
    std::vector<i64> lo, hi;
    bool empty() const noexcept {
        for (std::size_t a = 0; a < lo.size(); ++a)
            if (lo[a] > hi[a]) return true;
        return lo.empty();
    }
    i64 extent(std::size_t a) const noexcept { return hi[a] - lo[a] + 1; }
    i64 elements() const {
        i64 n = 1;
        for (std::size_t a = 0; a < lo.size(); ++a)
            if (checked::mul(n, extent(a), n) || n > max_box_elements)
                throw std::length_error("more than 2^28 positions in one box");
        return n;
    }
};

// The problem: nodes 0..n-1 in topological order (node 0: the network input), their sizes
// (n * ndim, -1: unknown), the edges (producer < consumer), one unit of the target node.
struct Problem {
    int nodes = 1;
    int ndim = 1;
    std::vector<i64> size;
    std::vector<Edge> edges;
    int target = 0;
    std::vector<i64> unit;
    bool borders = false;
};

template <class Num>
struct Result {
    Box box;                  // the input positions counted (node 0's units; padding included unless borders)
    std::vector<Num> counts;  // row-major over the box
};

namespace detail {

// The producer units an edge's consumer box reads on one axis: [lo, hi] (lo > hi: none).
inline void reach(const AxisWindow& w, i64 lo, i64 hi, i64& out_lo, i64& out_hi) {
    out_lo = checked::max;
    out_hi = checked::min;
    // One period of units shows every phase; beyond it the reach only moves by shift per period,
    // monotone when shift >= 0. Walk the first and last period (the whole box when it is short).
    const i64 len = hi - lo + 1;
    auto visit = [&](i64 v) {
        i64 f, s, c;
        w.taps(v, f, s, c);
        if (c <= 0) return;
        i64 span, last;
        if (checked::mul(s, c - 1, span) || checked::add(f, span, last))
            throw std::overflow_error("a window's reach exceeds the int64 range");
        out_lo = std::min(out_lo, f);
        out_hi = std::max(out_hi, last);
    };
    if (len <= 2 * w.period || w.shift < 0) {
        for (i64 v = lo; v <= hi; ++v) visit(v);
    } else {
        for (i64 v = lo; v < lo + w.period; ++v) visit(v);
        for (i64 v = hi - w.period + 1; v <= hi; ++v) visit(v);
    }
}

// dst[outer, p, inner] += src[outer, v, inner] for every tap p of unit v on axis `axis`.
template <class Num>
void scatter_axis(const std::vector<Num>& src, const std::vector<i64>& src_ext, i64 src_lo,
                  std::vector<Num>& dst, i64 dst_lo, i64 dst_ext, std::size_t axis, const AxisWindow& w) {
    std::size_t outer = 1, inner = 1;
    for (std::size_t a = 0; a < axis; ++a) outer *= static_cast<std::size_t>(src_ext[a]);
    for (std::size_t a = axis + 1; a < src_ext.size(); ++a) inner *= static_cast<std::size_t>(src_ext[a]);
    const auto n_src = static_cast<std::size_t>(src_ext[axis]);
    const auto n_dst = static_cast<std::size_t>(dst_ext);
    for (std::size_t vi = 0; vi < n_src; ++vi) {
        i64 f, s, c;
        w.taps(src_lo + static_cast<i64>(vi), f, s, c);
        for (i64 t = 0; t < c; ++t) {
            const i64 p = f + t * s - dst_lo;  // in range: the box was computed from these taps
            if (p < 0 || p >= dst_ext) continue;  // clipped at a border
            const auto pi = static_cast<std::size_t>(p);
            for (std::size_t o = 0; o < outer; ++o) {
                const Num* from = &src[(o * n_src + vi) * inner];
                Num* to = &dst[(o * n_dst + pi) * inner];
                for (std::size_t i = 0; i < inner; ++i)
                    if (from[i] != Num{}) add_to(to[i], from[i]);
            }
        }
    }
}

}  // namespace detail

// Counts of paths from `unit` of node `target` to every input position (see the file comment).
// Throws std::invalid_argument for malformed problems, std::overflow_error when an int64 count
// overflows (Num = i64), std::length_error when a box is too large.
template <class Num>
Result<Num> graph_erf(const Problem& pb) {
    const auto nd = static_cast<std::size_t>(pb.ndim);
    if (pb.ndim < 1 || pb.nodes < 1 || pb.size.size() != static_cast<std::size_t>(pb.nodes) * nd ||
        pb.unit.size() != nd || pb.target < 0 || pb.target >= pb.nodes)
        throw std::invalid_argument("graph_erf: inconsistent problem sizes");
    for (const Edge& e : pb.edges) {
        if (e.producer < 0 || e.consumer <= e.producer || e.consumer >= pb.nodes || e.axes.size() != nd)
            throw std::invalid_argument("graph_erf: an edge must run from an earlier node to a later one");
        for (const AxisWindow& w : e.axes) w.check("graph_erf");
    }
    auto size_of = [&](int node, std::size_t a) { return pb.size[static_cast<std::size_t>(node) * nd + a]; };

    // Boxes, from the target down (consumers come after their producers).
    std::vector<Box> box(static_cast<std::size_t>(pb.nodes));
    for (Box& b : box) {
        b.lo.assign(nd, checked::max);
        b.hi.assign(nd, checked::min);
    }
    box[static_cast<std::size_t>(pb.target)].lo = pb.unit;
    box[static_cast<std::size_t>(pb.target)].hi = pb.unit;
    std::vector<std::vector<const Edge*>> out_of(static_cast<std::size_t>(pb.nodes));
    for (const Edge& e : pb.edges) out_of[static_cast<std::size_t>(e.consumer)].push_back(&e);
    for (int node = pb.target; node > 0; --node) {
        const Box& b = box[static_cast<std::size_t>(node)];
        if (b.empty()) continue;
        for (const Edge* e : out_of[static_cast<std::size_t>(node)]) {
            Box reached{std::vector<i64>(nd), std::vector<i64>(nd)};
            for (std::size_t a = 0; a < nd; ++a) {
                detail::reach(e->axes[a], b.lo[a], b.hi[a], reached.lo[a], reached.hi[a]);
                if (pb.borders) {
                    const i64 n = size_of(e->producer, a);
                    if (n < 0) throw std::invalid_argument("graph_erf: borders need every node's size");
                    reached.lo[a] = std::max<i64>(reached.lo[a], 0);
                    reached.hi[a] = std::min<i64>(reached.hi[a], n - 1);
                }
            }
            if (reached.empty()) continue;
            Box& p = box[static_cast<std::size_t>(e->producer)];
            for (std::size_t a = 0; a < nd; ++a) {
                p.lo[a] = std::min(p.lo[a], reached.lo[a]);
                p.hi[a] = std::max(p.hi[a], reached.hi[a]);
            }
        }
    }

    // Counts, pushed down node by node; a node's array is freed once it has been pushed.
    std::vector<std::vector<Num>> counts(static_cast<std::size_t>(pb.nodes));
    for (int node = 0; node <= pb.target; ++node)
        if (!box[static_cast<std::size_t>(node)].empty())
            counts[static_cast<std::size_t>(node)].assign(static_cast<std::size_t>(box[static_cast<std::size_t>(node)].elements()),
                                                          Num{});
    counts[static_cast<std::size_t>(pb.target)][0] = Num{1};
    for (int node = pb.target; node > 0; --node) {
        const Box& b = box[static_cast<std::size_t>(node)];
        if (b.empty()) continue;
        for (const Edge* e : out_of[static_cast<std::size_t>(node)]) {
            const Box& p = box[static_cast<std::size_t>(e->producer)];
            if (p.empty()) continue;
            // Axis by axis: the consumer's extents become the producer's.
            std::vector<i64> ext(nd);
            for (std::size_t a = 0; a < nd; ++a) ext[a] = b.extent(a);
            std::vector<Num> current = counts[static_cast<std::size_t>(node)];
            for (std::size_t a = 0; a < nd; ++a) {
                std::vector<i64> next_ext = ext;
                next_ext[a] = p.extent(a);
                std::size_t total = 1;
                for (i64 x : next_ext) total *= static_cast<std::size_t>(x);
                std::vector<Num> next(total, Num{});
                detail::scatter_axis(current, ext, b.lo[a], next, p.lo[a], p.extent(a), a, e->axes[a]);
                current.swap(next);
                ext.swap(next_ext);
            }
            std::vector<Num>& into = counts[static_cast<std::size_t>(e->producer)];
            for (std::size_t i = 0; i < into.size(); ++i)
                if (current[i] != Num{}) add_to(into[i], current[i]);
        }
        std::vector<Num>().swap(counts[static_cast<std::size_t>(node)]);
    }
    Result<Num> out;
    out.box = box[0];
    out.counts = std::move(counts[0]);
    return out;
}

// A chain on one axis: the convolution of the layers' tap indicators, kernel[l] taps dilation[l]
// apart, scaled by the jump (product of the strides before layer l). Positions 0 .. rf-1 from
// the start of a unit's RF. Throws std::overflow_error as graph_erf does, std::length_error when
// the RF exceeds 2^28 positions.
template <class Num>
std::vector<Num> chain_erf(const i64* kernel, const i64* stride, const i64* dilation, i64 layers) {
    std::vector<Num> e{Num{1}};
    i64 jump = 1;
    for (i64 l = 0; l < layers; ++l) {
        if (kernel[l] < 1 || stride[l] < 1 || dilation[l] < 1)
            throw std::invalid_argument("chain_erf: kernel, stride and dilation must be >= 1");
        i64 gap, span, size;
        if (checked::mul(dilation[l], jump, gap) || checked::mul(gap, kernel[l] - 1, span) ||
            checked::add(static_cast<i64>(e.size()), span, size))
            throw std::overflow_error("receptive field values exceed the int64 range");
        if (size > max_box_elements) throw std::length_error("a receptive field of more than 2^28 positions");
        std::vector<Num> next(static_cast<std::size_t>(size), Num{});
        for (i64 j = 0; j < kernel[l]; ++j) {
            const auto offset = static_cast<std::size_t>(j * gap);
            for (std::size_t i = 0; i < e.size(); ++i)
                if (e[i] != Num{}) add_to(next[i + offset], e[i]);
        }
        e.swap(next);
        if (checked::mul(jump, stride[l], jump)) throw std::overflow_error("the jump exceeds the int64 range");
    }
    return e;
}

}  // namespace rfsearch::erf
