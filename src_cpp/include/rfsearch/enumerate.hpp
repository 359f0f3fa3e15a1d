// Exhaustive sweep of a search space: depth-first enumeration with prefix sharing, pruning of
// whole subtrees by sound bounds, exact counts, RF histogram, top-K, Pareto front, streamed rows.
// Header-only, no Python; the binding is src_cpp/bind_sweep.cpp, the Python side
// rfsearch/search/sweep.py, the oracle rfsearch/search/reference.py (`brute_force`).
//
// What is enumerated. Position i (0 <= i < depth_hi) holds one of its choices (rows of a table:
// LayerParams per axis + kind); a candidate is a choice sequence whose length is in
// [depth_lo, depth_hi]. The walk is depth first in choice order, and every node (a prefix) is
// folded once from its parent's state (fold.hpp `fold_layer` on every axis): the prefix IS a
// stack, judged as a candidate when its length is >= depth_lo, and its extensions reuse its
// state. Semantics are rfsearch/search/evaluate.py's exactly: a stack is feasible iff its fold
// neither collapsed nor overflowed, the rules hold (stride_on, max_downsampling), and every
// target holds (rf / jump / output_size ranges per axis, rf <= input with rf_within_input,
// params <= max_params, macs <= max_macs, no blind spots with coverage).
//
// Pruning (Config::prune). A node is dropped with its whole subtree only when no stack in that
// subtree (the node itself included) can be feasible. Each rule, and why it is sound:
//  - dead prefix: the fold collapsed or overflowed, or a rule failed. evaluate() stops at the
//    first failing layer and rules never un-fail, so every extension fails too.
//  - RF too large: rf > hi (target) or rf > input (rf_within_input). A layer adds
//    (k_eff - 1) * J >= 0: the RF never shrinks.
//  - RF unreachable: rf + J * G[n] < lo, where G[n] = max_k1[n] + s_max[n] * G[n + 1] over the
//    positions n .. depth_hi - 1 that can follow (max_k1: the largest d(k - 1) among the allowed
//    choices there, s_max: the largest stride). The final RF of any extension is
//    rf + sum_i (k_i - 1) d_i J_i with J_i <= J * prod s_max, so it is at most rf + J * G[n]
//    (saturated at int64: then nothing is pruned).
//  - jump: J never shrinks (multiplied by strides >= 1): J > hi prunes; an exact target t
//    needs J | t (the final jump is J times the later strides); J * prod s_max < lo prunes.
//  - output size too small: size < lo prunes only when no later allowed choice can grow the
//    size, i.e. every one has p_before + p_after <= k_eff - 1 on every axis ('same' included:
//    its output is ceil(n / s) <= n). Then out = floor((n + p + q - k_eff) / s) + 1 <= n (and
//    ceil_mode only lowers it further). Explicit paddings larger than that break the bound, and
//    the rule is then not used from that depth on.
//  - costs: params and MACs only grow (a conv adds > 0, pooling 0): above a budget prunes.
//  - coverage is NOT monotone (a later layer can fill a gap: taps {0, 2} then {0, 1} cover
//    [0, 3]), so it never prunes; it is checked on each candidate.
// Branch-and-bound (Config::counts == false: feasible counts and histogram are then not
// computed, only top-K and the Pareto front). Every objective has a lower bound over a subtree:
// macs and params (they only grow), depth (max(n, depth_lo)), rf_error (per axis the smallest
// |2 x - lo - hi| over the RFs x the subtree can still end at: [max(rf, lo), min(hi, rf + J G)]).
// A subtree is dropped when its lower-bound vector is lexicographically STRICTLY worse than the
// K-th best vector found so far (K stacks are known that every stack of the subtree would rank
// after, ties included: ties are broken by choice order and equal vectors are not pruned) and,
// with several objectives, STRICTLY dominated by a Pareto point found so far (every stack of
// the subtree is then dominated). Strictness keeps results identical with any visiting order:
// pruned and unpruned runs, any thread count, any split into tasks give the same results.
//
// Orders (as the oracle): top-K sorts by objective vector (lexicographic), then by choice
// sequence (lexicographic, a prefix before its extensions); one entry per stack. The Pareto
// front has one entry per non-dominated vector, represented by its first stack in choice order.
//
// Work split: a task is a prefix of length `split` (its node and every extension up to
// depth_hi), plus one "shallow" task for the nodes shorter than `split`. Threads take tasks
// from a shared counter (idle threads take the next one); the calling thread works too, and
// between nodes (every 2^16) and tasks it polls (Ctrl-C) and writes streamed rows. The
// results of a run are merged over threads in an order-free way (sums, sorted top-K, front).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "checked.hpp"
#include "fold.hpp"
#include "parallel.hpp"
#include "reach.hpp"

namespace rfsearch {
namespace sweep {

using u32 = std::uint32_t;
using u64 = std::uint64_t;

inline constexpr int max_axes = default_max_axes;
inline constexpr int max_objectives = 4;
inline constexpr i64 no_limit = -1;

enum class Kind : std::uint8_t { conv = 0, maxpool = 1, avgpool = 2 };
enum class Objective : std::uint8_t { macs = 0, params = 1, depth = 2, rf_error = 3 };

// An inclusive range target on one axis (given == false: no target).
struct Range {
    bool given = false;
    i64 lo = 0;
    i64 hi = 0;
    bool contains(i64 v) const noexcept { return !given || (lo <= v && v <= hi); }
};

// The space, as the Python side hands it over (SearchSpace compiled to tables). Validated by
// Plan's constructor (std::invalid_argument).
struct SpaceDef {
    int axes = 1;
    int depth_lo = 1;
    int depth_hi = 1;
    std::vector<LayerParams> rows;     // n_rows x axes, row-major: every choice of every position
    std::vector<Kind> kinds;           // n_rows
    std::vector<i64> first;            // per position (depth_hi): index of its first row
    std::vector<i64> count;            // per position: number of choices
    bool sized = false;
    std::array<i64, max_axes> input{};
    i64 max_downsampling = no_limit;
    unsigned stride_on = 0x7u;         // bit k: kind k may have stride > 1
    bool channels = false;
    i64 channels_in = 0;
    std::vector<i64> widths;
    bool bias = true;
    std::array<Range, max_axes> rf{}, jump{}, size{};
    bool rf_within_input = false;
    bool coverage = false;
    i64 reach_cap = reach_default_cap;
    i64 max_params = no_limit;
    i64 max_macs = no_limit;
    std::vector<Objective> objectives;
};

// An objective vector (rf_error in half units: 2 |rf - t| summed over axes, exact). Unused
// components stay 0, so comparing whole arrays compares the used part.
using Vec = std::array<i64, max_objectives>;

// Lexicographic a < b and a == b (std::array's operators go through memcmp: slower here).
inline bool vec_less(const Vec& a, const Vec& b) noexcept {
    for (std::size_t i = 0; i < static_cast<std::size_t>(max_objectives); ++i)
        if (a[i] != b[i]) return a[i] < b[i];
    return false;
}
inline bool vec_equal(const Vec& a, const Vec& b) noexcept {
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

inline bool dominates(const Vec& a, const Vec& b) noexcept {
    bool strict = false;
    for (int i = 0; i < max_objectives; ++i) {
        const auto k = static_cast<std::size_t>(i);
        if (a[k] > b[k]) return false;
        if (a[k] < b[k]) strict = true;
    }
    return strict;
}

// A stack found: its objective vector and choice indices.
struct Found {
    Vec vec{};
    std::vector<u32> choices;
};

inline bool choices_less(const u32* a, std::size_t na, const u32* b, std::size_t nb) noexcept {
    return std::lexicographical_compare(a, a + na, b, b + nb);
}
// The documented order: objective vector, then choices (a prefix before its extensions).
inline bool found_less(const Found& a, const Found& b) noexcept {
    if (!vec_equal(a.vec, b.vec)) return vec_less(a.vec, b.vec);
    return choices_less(a.choices.data(), a.choices.size(), b.choices.data(), b.choices.size());
}

// What a run does, besides which stacks it covers.
struct Config {
    bool prune = true;       // static bounds (false: visit every node, the in-core brute force)
    bool counts = true;      // feasible count + histogram (false: branch-and-bound, see above)
    i64 top = 0;             // K
    int threads = 1;         // <= 0: all cores
    i64 stream_rows = 0;     // rows per streamed chunk (0: no streaming)
    // Bounds known from earlier runs (merged results): K stacks at least this good exist, and
    // these Pareto points. Only branch-and-bound reads them.
    bool seed_kth_given = false;
    Found seed_kth{};
    std::vector<Found> seed_front;
};

// Which stacks a run covers: depth range and, per position, the allowed choice indices
// (ascending). Built by Plan::restriction.
struct Restriction {
    int depth_lo = 1;
    int depth_hi = 1;
    std::vector<std::vector<u32>> allowed;  // depth_hi lists
};

namespace detail {
inline i64 sat_add(i64 a, i64 b) noexcept {
    i64 out;
    return checked::add(a, b, out) ? checked::max : out;
}
inline i64 sat_mul(i64 a, i64 b) noexcept {
    i64 out;
    return checked::mul(a, b, out) ? checked::max : out;
}
inline u64 mix(u64 x) noexcept {  // splitmix64 finaliser
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
}  // namespace detail

// Per-choice facts computed once.
struct RowInfo {
    Kind kind = Kind::conv;
    bool down = false;     // stride > 1 on some axis
    bool rule_ok = true;   // stride_on allows it
    bool grows = false;    // can output more than its input on some axis (explicit padding > k_eff - 1)
    i64 volume = 1;        // prod of kernels (conv cost)
};

// Bounds that depend on the restriction (per depth n = number of layers so far, 0..depth_hi).
struct Bounds {
    std::vector<i64> rf_gain;    // (depth_hi + 1) x axes: G[n]
    std::vector<i64> jump_gain;  // (depth_hi + 1) x axes: prod of s_max over positions >= n
    std::vector<std::uint8_t> shrinking;  // depth_hi + 1: no choice at positions >= n grows the size
    std::array<i64, max_axes> rf_cap{};   // a feasible RF is <= this (target hi, input)
};

// The allowed choices of each position in groups that act the same: equal parameters on every
// axis, equal rule outcome (stride_on) and cost class (conv or not, with a cost model). At the
// last layer of a walk one fold judges a whole group; its members are then recorded one by one
// (top-K, Pareto, streamed rows) or by multiplicity (counts, histogram).
struct Groups {
    // A group's layer prepared for the last-layer fast path (`fast`: no 'same' padding, no
    // ceil_mode, d(k - 1) well inside int64): fold_layer's arithmetic with the kernel
    // precomputed, the same checks in the same order of effects.
    struct Axis {
        i64 keff1 = 0, keff = 1, before = 0, after = 0, stride = 1;
    };
    struct Prepared {
        bool fast = false;
        bool rule_ok = true;
        bool down = false;
        bool conv = false;
        i64 volume = 1;
        std::array<Axis, max_axes> axis{};
    };
    std::vector<std::size_t> first_group;  // depth_hi + 1: groups of position n are [first_group[n], first_group[n + 1])
    std::vector<std::size_t> first_member;  // n_groups + 1
    std::vector<u32> members;               // ascending within a group; groups ordered by first member
    std::vector<Prepared> prepared;         // per group
};

class Plan {
public:
    explicit Plan(SpaceDef def) : d_(std::move(def)) { validate(); }

    const SpaceDef& def() const noexcept { return d_; }
    int axes() const noexcept { return d_.axes; }
    int n_objectives() const noexcept { return static_cast<int>(d_.objectives.size()); }
    const LayerParams* params(int position, u32 choice) const noexcept {
        return &d_.rows[static_cast<std::size_t>((d_.first[static_cast<std::size_t>(position)] + choice) * d_.axes)];
    }
    const RowInfo& info(int position, u32 choice) const noexcept {
        return info_[static_cast<std::size_t>(d_.first[static_cast<std::size_t>(position)] + choice)];
    }
    i64 width(i64 stage) const noexcept {
        const i64 last = static_cast<i64>(d_.widths.size()) - 1;
        return d_.widths[static_cast<std::size_t>(std::min(stage, last))];
    }
    i64 rf_error_span() const noexcept { return rf_error_span_; }

    // A restriction: depth [lo, hi] within the space's, allowed[i] the choices of position i
    // (empty vector: all). std::invalid_argument if out of range, unsorted or duplicated.
    Restriction restriction(int depth_lo, int depth_hi, const std::vector<std::vector<u32>>& allowed) const {
        if (depth_lo < d_.depth_lo || depth_hi > d_.depth_hi || depth_lo > depth_hi)
            throw std::invalid_argument("sweep: depth [" + std::to_string(depth_lo) + ", " + std::to_string(depth_hi) +
                                        "] is not within the space's [" + std::to_string(d_.depth_lo) + ", " +
                                        std::to_string(d_.depth_hi) + "]");
        if (allowed.size() > static_cast<std::size_t>(d_.depth_hi))
            throw std::invalid_argument("sweep: more allowed-choice lists than positions");
        Restriction r;
        r.depth_lo = depth_lo;
        r.depth_hi = depth_hi;
        r.allowed.resize(static_cast<std::size_t>(depth_hi));
        for (int i = 0; i < depth_hi; ++i) {
            const auto k = static_cast<std::size_t>(i);
            const i64 n = d_.count[k];
            auto& out = r.allowed[k];
            if (k < allowed.size() && !allowed[k].empty()) {
                for (std::size_t j = 0; j < allowed[k].size(); ++j) {
                    const u32 c = allowed[k][j];
                    if (static_cast<i64>(c) >= n)
                        throw std::invalid_argument("sweep: choice " + std::to_string(c) + " at position " +
                                                    std::to_string(i) + " is outside [0, " + std::to_string(n) + ")");
                    if (j > 0 && c <= allowed[k][j - 1])
                        throw std::invalid_argument("sweep: the allowed choices at position " + std::to_string(i) +
                                                    " must be ascending without repeats");
                }
                out = allowed[k];
            } else {
                out.resize(static_cast<std::size_t>(n));
                for (i64 c = 0; c < n; ++c) out[static_cast<std::size_t>(c)] = static_cast<u32>(c);
            }
        }
        return r;
    }

    Bounds bounds(const Restriction& r) const {
        const int hi = r.depth_hi, a_n = d_.axes;
        Bounds b;
        b.rf_gain.assign(static_cast<std::size_t>((hi + 1) * a_n), 0);
        b.jump_gain.assign(static_cast<std::size_t>((hi + 1) * a_n), 1);
        b.shrinking.assign(static_cast<std::size_t>(hi + 1), 1);
        for (int n = hi - 1; n >= 0; --n) {
            bool grows = false;
            for (int a = 0; a < a_n; ++a) {
                i64 k1 = 0, s = 1;
                for (u32 c : r.allowed[static_cast<std::size_t>(n)]) {
                    const LayerParams& p = params(n, c)[a];
                    k1 = std::max(k1, detail::sat_mul(p.dilation, p.kernel - 1));
                    s = std::max(s, p.stride);
                }
                const auto here = static_cast<std::size_t>(n * a_n + a), next = static_cast<std::size_t>((n + 1) * a_n + a);
                b.rf_gain[here] = detail::sat_add(k1, detail::sat_mul(s, b.rf_gain[next]));
                b.jump_gain[here] = detail::sat_mul(s, b.jump_gain[next]);
            }
            for (u32 c : r.allowed[static_cast<std::size_t>(n)]) grows = grows || info(n, c).grows;
            b.shrinking[static_cast<std::size_t>(n)] = b.shrinking[static_cast<std::size_t>(n + 1)] && !grows;
        }
        for (int a = 0; a < a_n; ++a) {
            const auto k = static_cast<std::size_t>(a);
            i64 cap = checked::max;
            if (d_.rf[k].given) cap = std::min(cap, d_.rf[k].hi);
            if (d_.rf_within_input && d_.sized) cap = std::min(cap, d_.input[k]);
            b.rf_cap[k] = cap;
        }
        return b;
    }

    Groups groups(const Restriction& r) const {
        Groups g;
        g.first_member.push_back(0);
        const std::size_t per_axis = 6;
        for (int n = 0; n < r.depth_hi; ++n) {
            g.first_group.push_back(g.first_member.size() - 1);
            const auto& allowed = r.allowed[static_cast<std::size_t>(n)];
            auto key = [&](u32 c) {
                std::vector<i64> k;
                k.reserve(per_axis * static_cast<std::size_t>(d_.axes) + 2);
                const LayerParams* p = params(n, c);
                for (int a = 0; a < d_.axes; ++a)
                    k.insert(k.end(), {p[a].kernel, p[a].stride, p[a].dilation, p[a].pad_before, p[a].pad_after,
                                       static_cast<i64>(p[a].ceil_mode)});
                const RowInfo& in = info(n, c);
                k.push_back(in.rule_ok ? 1 : 0);
                k.push_back(d_.channels && in.kind == Kind::conv ? 1 : 0);
                return k;
            };
            std::vector<std::pair<std::vector<i64>, u32>> keyed;
            keyed.reserve(allowed.size());
            for (u32 c : allowed) keyed.emplace_back(key(c), c);
            std::sort(keyed.begin(), keyed.end());  // by key, then choice: members ascending
            std::vector<std::vector<u32>> found;
            for (std::size_t i = 0; i < keyed.size(); ++i) {
                if (i == 0 || keyed[i].first != keyed[i - 1].first) found.emplace_back();
                found.back().push_back(keyed[i].second);
            }
            std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a[0] < b[0]; });
            for (const auto& members : found) {
                g.members.insert(g.members.end(), members.begin(), members.end());
                g.first_member.push_back(g.members.size());
                g.prepared.push_back(prepare(n, members[0]));
            }
        }
        g.first_group.push_back(g.first_member.size() - 1);
        return g;
    }

private:
    SpaceDef d_;
    std::vector<RowInfo> info_;

    Groups::Prepared prepare(int n, u32 c) const {
        Groups::Prepared out;
        const RowInfo& in = info(n, c);
        out.rule_ok = in.rule_ok;
        out.down = in.down;
        out.conv = in.kind == Kind::conv;
        out.volume = in.volume;
        out.fast = true;
        const LayerParams* p = params(n, c);
        for (int a = 0; a < d_.axes; ++a) {
            Groups::Axis& ax = out.axis[static_cast<std::size_t>(a)];
            i64 keff1;
            if (p[a].pad_before == pad_same || p[a].ceil_mode || checked::mul(p[a].dilation, p[a].kernel - 1, keff1) ||
                keff1 == checked::max) {
                out.fast = false;
                continue;
            }
            ax = Groups::Axis{keff1, keff1 + 1, p[a].pad_before, p[a].pad_after, p[a].stride};
        }
        return out;
    }
    i64 rf_error_span_ = 0;

    static void fail(const std::string& what) { throw std::invalid_argument("sweep plan: " + what); }

    void validate() {
        if (d_.axes < 1 || d_.axes > max_axes) fail("axes must be in [1, " + std::to_string(max_axes) + "]");
        if (d_.depth_lo < 1 || d_.depth_lo > d_.depth_hi) fail("depth must satisfy 1 <= lo <= hi");
        const auto hi = static_cast<std::size_t>(d_.depth_hi);
        if (d_.first.size() != hi || d_.count.size() != hi) fail("one first/count entry per position");
        if (d_.rows.size() != d_.kinds.size() * static_cast<std::size_t>(d_.axes)) fail("rows and kinds disagree");
        const i64 n_rows = static_cast<i64>(d_.kinds.size());
        for (std::size_t i = 0; i < hi; ++i)
            if (d_.count[i] < 1 || d_.count[i] > std::numeric_limits<std::int32_t>::max() || d_.first[i] < 0 ||
                d_.first[i] > n_rows - d_.count[i])
                fail("position " + std::to_string(i) + " has no valid rows");
        if (d_.objectives.empty() || d_.objectives.size() > static_cast<std::size_t>(max_objectives))
            fail("1 to 4 objectives");
        if (d_.channels && (d_.widths.empty() || d_.channels_in < 1)) fail("channels need input >= 1 and widths");
        for (i64 w : d_.widths)
            if (w < 1) fail("widths must be >= 1");
        for (int a = 0; a < d_.axes; ++a) {
            const auto k = static_cast<std::size_t>(a);
            if (d_.sized && d_.input[k] < 1) fail("input sizes must be >= 1");
            for (const Range* r : {&d_.rf[k], &d_.jump[k], &d_.size[k]})
                if (r->given && (r->lo < 1 || r->lo > r->hi)) fail("target ranges need 1 <= lo <= hi");
        }
        if (d_.reach_cap < 1) fail("reach cap must be >= 1");
        info_.resize(static_cast<std::size_t>(n_rows));
        for (i64 r = 0; r < n_rows; ++r) {
            RowInfo& in = info_[static_cast<std::size_t>(r)];
            in.kind = d_.kinds[static_cast<std::size_t>(r)];
            if (static_cast<int>(in.kind) > 2) fail("unknown kind");
            for (int a = 0; a < d_.axes; ++a) {
                const LayerParams& p = d_.rows[static_cast<std::size_t>(r * d_.axes + a)];
                if (check_params(p, d_.sized) != ParamError::none)
                    fail("row " + std::to_string(r) + " axis " + std::to_string(a) + ": " +
                         param_error_name(check_params(p, d_.sized)));
                in.down = in.down || p.stride > 1;
                const i64 k1 = detail::sat_mul(p.dilation, p.kernel - 1);
                in.grows = in.grows || (p.pad_before != pad_same && detail::sat_add(p.pad_before, p.pad_after) > k1);
                if (checked::mul(in.volume, p.kernel, in.volume)) fail("kernel volume exceeds int64");
            }
            in.rule_ok = !in.down || ((d_.stride_on >> static_cast<unsigned>(in.kind)) & 1u) != 0;
        }
        bool has_rf_error = false;
        for (Objective o : d_.objectives) has_rf_error = has_rf_error || o == Objective::rf_error;
        if (has_rf_error) {  // axes without a target add nothing (all of them: rf_error is 0)
            for (int a = 0; a < d_.axes; ++a) {
                const Range& r = d_.rf[static_cast<std::size_t>(a)];
                if (r.given && checked::add(rf_error_span_, r.hi - r.lo, rf_error_span_))
                    throw std::invalid_argument("rf_error: the RF target ranges are too wide (their widths add up "
                                                "past the int64 range)");
            }
        }
    }
};

// A histogram of feasible RFs (per-axis keys); a dense array for one axis with a small bound.
template <int A>
class Histogram {
public:
    using Key = std::array<i64, static_cast<std::size_t>(A)>;

    // One axis with feasible RFs in [lo, hi], hi - lo < 4096: a dense array.
    void configure(int axes, i64 lo, i64 hi) {
        dense_.clear();
        base_ = lo;
        if (axes == 1 && lo <= hi && hi - lo < 4096) dense_.assign(static_cast<std::size_t>(hi - lo + 1), 0);
    }
    void add(const Key& key, u64 n) {
        if (!dense_.empty()) {
            dense_[static_cast<std::size_t>(key[0] - base_)] += n;
            return;
        }
        map_[key] += n;
    }
    void merge(const Histogram& other) {
        other.each([this](const Key& k, u64 n) { add(k, n); });
    }
    template <class F>
    void each(F&& f) const {
        for (std::size_t i = 0; i < dense_.size(); ++i)
            if (dense_[i] != 0) {
                Key k{};
                k[0] = base_ + static_cast<i64>(i);
                f(k, dense_[i]);
            }
        for (const auto& [k, n] : map_) f(k, n);
    }

private:
    struct Hash {
        std::size_t operator()(const Key& k) const noexcept {
            u64 h = 0;
            for (i64 v : k) h = detail::mix(h ^ static_cast<u64>(v));
            return static_cast<std::size_t>(h);
        }
    };
    i64 base_ = 0;
    std::vector<u64> dense_;
    std::unordered_map<Key, u64, Hash> map_;
};

// One thread's results.
template <int A>
struct Accumulator {
    u64 visited = 0;  // stacks judged (a group of equal last layers counts each member)
    u64 folds = 0;    // layer folds computed
    u64 feasible = 0;
    Histogram<A> hist;
    std::vector<Found> top;    // a max-heap by found_less: front() is the worst kept
    std::vector<Found> front;  // non-dominated, one per vector
};

// Keeps `found` in a front: drops it if dominated, keeps the first stack of an equal vector,
// removes the points it dominates.
inline void front_insert(std::vector<Found>& front, const Vec& vec, const u32* choices, std::size_t n) {
    for (Found& f : front) {
        if (vec_equal(f.vec, vec)) {
            if (choices_less(choices, n, f.choices.data(), f.choices.size())) f.choices.assign(choices, choices + n);
            return;
        }
        if (dominates(f.vec, vec)) return;
    }
    front.erase(std::remove_if(front.begin(), front.end(), [&](const Found& f) { return dominates(vec, f.vec); }),
                front.end());
    front.push_back(Found{vec, std::vector<u32>(choices, choices + n)});
}

// Offers a stack to a top-K heap; returns false if it was not kept (nor would a stack with the
// same vector and larger choices be).
inline bool top_insert(std::vector<Found>& heap, i64 k, const Vec& vec, const u32* choices, std::size_t n) {
    if (k <= 0) return false;
    auto less = [](const Found& a, const Found& b) { return found_less(a, b); };
    if (static_cast<i64>(heap.size()) < k) {
        heap.push_back(Found{vec, std::vector<u32>(choices, choices + n)});
        std::push_heap(heap.begin(), heap.end(), less);
        return true;
    }
    const Found& worst = heap.front();
    if (!vec_equal(vec, worst.vec)) {
        if (vec_less(worst.vec, vec)) return false;
    } else if (!choices_less(choices, n, worst.choices.data(), worst.choices.size())) {
        return false;
    }
    std::pop_heap(heap.begin(), heap.end(), less);
    heap.back().vec = vec;
    heap.back().choices.assign(choices, choices + n);
    std::push_heap(heap.begin(), heap.end(), less);
    return true;
}

// A chunk of streamed rows: `width` int64 per row: depth, choices (depth_hi, -1 past the
// depth), rf (axes), jump (axes), output size (axes; 0 without input size), params, macs (-1
// without cost model / input size), objective values (rf_error in half units).
struct Chunk {
    i64 rows = 0;
    int width = 0;
    std::vector<i64> data;
};

// What the threads of a run share.
class Control {
public:
    using Poll = std::function<bool()>;              // caller thread: true = stop (Ctrl-C)
    using Sink = std::function<bool(const Chunk&)>;  // caller thread: false = stop (its error is kept by the caller)

    Control(Poll poll, Sink sink, std::size_t capacity) : poll_(std::move(poll)), sink_(std::move(sink)), capacity_(capacity) {}

    std::atomic<bool> stop{false};
    bool cancelled() const noexcept { return cancelled_.load(); }

    // Caller thread: Ctrl-C check (at most every 10 ms: it takes the GIL), then the rows queued
    // by other threads.
    bool poll() {
        if (stop.load(std::memory_order_relaxed)) return true;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_poll_ < std::chrono::milliseconds(10)) return false;
        last_poll_ = now;
        if (poll_ && poll_()) {
            cancelled_ = true;
            stop = true;
            return true;
        }
        drain();
        return stop.load();
    }
    // Caller thread: writes a chunk now.
    void emit(const Chunk& c) {
        if (!stop.load() && sink_ && !sink_(c)) stop = true;
    }
    // Other threads: queues a chunk (waits while the queue is full).
    void push(Chunk&& c) {
        std::unique_lock<std::mutex> lock(m_);
        room_.wait(lock, [&] { return queue_.size() < capacity_ || stop.load(); });
        if (stop.load()) return;
        queue_.push_back(std::move(c));
        ready_.notify_all();
    }
    void drain() {
        for (;;) {
            Chunk c;
            {
                std::lock_guard<std::mutex> lock(m_);
                if (queue_.empty()) return;
                c = std::move(queue_.front());
                queue_.pop_front();
                room_.notify_all();
            }
            emit(c);
        }
    }
    // Worker threads announce their end; the caller waits for them, polling and writing meanwhile.
    void worker_done() {
        std::lock_guard<std::mutex> lock(m_);
        --active_;
        ready_.notify_all();
    }
    void add_worker(int n) {
        std::lock_guard<std::mutex> lock(m_);
        active_ += n;
    }
    void wait_workers() {
        for (;;) {
            {
                std::unique_lock<std::mutex> lock(m_);
                ready_.wait_for(lock, std::chrono::milliseconds(20), [&] { return active_ == 0 || !queue_.empty(); });
                if (active_ == 0 && queue_.empty()) return;
            }
            if (!stop.load()) poll();
            else drain_discard();
        }
    }
    void fail(std::exception_ptr e) {
        std::lock_guard<std::mutex> lock(m_);
        if (!error_) error_ = std::move(e);
        stop = true;
        room_.notify_all();
    }
    std::exception_ptr error() const { return error_; }
    void wake() {
        std::lock_guard<std::mutex> lock(m_);
        room_.notify_all();
    }

private:
    Poll poll_;
    Sink sink_;
    std::size_t capacity_;
    std::mutex m_;
    std::condition_variable room_, ready_;
    std::deque<Chunk> queue_;
    int active_ = 0;
    std::atomic<bool> cancelled_{false};
    std::exception_ptr error_;
    std::chrono::steady_clock::time_point last_poll_ = std::chrono::steady_clock::now();

    void drain_discard() {
        std::lock_guard<std::mutex> lock(m_);
        queue_.clear();
        room_.notify_all();
    }
};

// The best stacks found by any thread of a run (branch-and-bound): each thread publishes its
// top-K and Pareto front now and then and takes back the merged ones as pruning bounds, so a
// good stack found by one thread prunes the others' subtrees too. Bounds only: results come
// from each thread's own lists, merged at the end.
class Incumbents {
public:
    explicit Incumbents(i64 k) : k_(k) {}

    // Merges a thread's lists in; returns the merged K-th stack (if K are known) and front.
    void exchange(const std::vector<Found>& top, const std::vector<Found>& front, bool& kth_given, Found& kth,
                  std::vector<Found>& merged_front) {
        std::lock_guard<std::mutex> lock(m_);
        if (!top.empty()) {
            top_.insert(top_.end(), top.begin(), top.end());
            std::sort(top_.begin(), top_.end(), found_less);
            top_.erase(std::unique(top_.begin(), top_.end(),
                                   [](const Found& a, const Found& b) {
                                       return vec_equal(a.vec, b.vec) && a.choices == b.choices;
                                   }),
                       top_.end());
            if (static_cast<i64>(top_.size()) > k_) top_.resize(static_cast<std::size_t>(std::max<i64>(k_, 0)));
        }
        for (const Found& f : front) front_insert(front_, f.vec, f.choices.data(), f.choices.size());
        kth_given = k_ > 0 && static_cast<i64>(top_.size()) >= k_;
        if (kth_given) kth = top_.back();
        merged_front = front_;
    }

private:
    i64 k_;
    std::mutex m_;
    std::vector<Found> top_;  // sorted, at most K, no repeats
    std::vector<Found> front_;
};

// The node state kept per depth.
template <int A>
struct Frame {
    StackState<i64, A> st;
    i64 params = 0;
    i64 macs = 0;
    i64 c_in = 0;
    std::int32_t stage = 0;
    std::int32_t down = 0;
    bool dead = false;       // collapsed or overflowed: every extension too
    bool rules_bad = false;  // a rule failed: every extension too
};

// Fold, rules, costs and the static bounds of one node: shared by the walker, the task splitter
// and the estimator.
template <int A>
class Kernel {
public:
    Kernel(const Plan& plan, const Restriction& r, const Bounds& b) : plan_(plan), r_(r), b_(b), d_(plan.def()) {}

    int axes() const noexcept { return A < max_axes ? A : d_.axes; }

    Frame<A> root() const {
        Frame<A> f;
        f.st = StackState<i64, A>::start(d_.axes, d_.sized ? d_.input.data() : nullptr);
        f.c_in = d_.channels_in;
        return f;
    }

    // out = in + the choice c at position n - 1 (n: the new length).
    void step(const Frame<A>& in, int position, u32 c, Frame<A>& out) const {
        out = in;
        if (in.dead) return;
        const LayerParams* p = plan_.params(position, c);
        const RowInfo& info = plan_.info(position, c);
        for (int a = 0; a < axes(); ++a) {
            const auto k = static_cast<std::size_t>(a);
            if (fold_layer(in.st.axis[k], p[a], d_.sized, out.st.axis[k]) != Status::ok) {
                out.dead = true;
                return;
            }
        }
        if (d_.channels && info.kind == Kind::conv) {
            const i64 c_out = plan_.width(in.stage);
            i64 weights, bias = d_.bias ? c_out : 0, grow;
            if (checked::mul(info.volume, in.c_in, weights) || checked::mul(weights, c_out, weights) ||
                checked::add(weights, bias, grow) || checked::add(out.params, grow, out.params))
                throw std::overflow_error("sweep: params exceed the int64 range");
            if (d_.sized) {
                i64 m = weights;
                for (int a = 0; a < axes(); ++a)
                    if (checked::mul(m, out.st.axis[static_cast<std::size_t>(a)].size, m))
                        throw std::overflow_error("sweep: MACs exceed the int64 range");
                if (checked::add(out.macs, m, out.macs)) throw std::overflow_error("sweep: MACs exceed the int64 range");
            }
            out.c_in = c_out;
        }
        if (info.down) {
            ++out.stage;
            ++out.down;
            if (!info.rule_ok) out.rules_bad = true;
        }
        if (d_.max_downsampling != no_limit && out.down > d_.max_downsampling) out.rules_bad = true;
    }

    // True if no stack in the subtree of this (live) node of length n can be feasible.
    bool hopeless(const Frame<A>& f, int n) const noexcept {
        if (f.dead || f.rules_bad) return true;
        const auto nn = static_cast<std::size_t>(n);
        for (int a = 0; a < axes(); ++a) {
            const auto k = static_cast<std::size_t>(a);
            const AxisState<i64>& s = f.st.axis[k];
            if (s.rf > b_.rf_cap[k]) return true;
            const Range& rf = d_.rf[k];
            if (rf.given && detail::sat_add(s.rf, detail::sat_mul(s.jump, b_.rf_gain[nn * static_cast<std::size_t>(axes()) + k])) < rf.lo)
                return true;
            const Range& j = d_.jump[k];
            if (j.given) {
                if (s.jump > j.hi) return true;
                if (j.lo == j.hi && j.hi % s.jump != 0) return true;
                if (detail::sat_mul(s.jump, b_.jump_gain[nn * static_cast<std::size_t>(axes()) + k]) < j.lo) return true;
            }
            const Range& z = d_.size[k];
            if (z.given && d_.sized && s.size < z.lo && b_.shrinking[nn]) return true;
        }
        if (d_.max_params != no_limit && f.params > d_.max_params) return true;
        if (d_.max_macs != no_limit && f.macs > d_.max_macs) return true;
        return false;
    }

    // Every check of a candidate but coverage.
    bool meets_targets(const Frame<A>& f) const noexcept {
        if (f.dead || f.rules_bad) return false;
        for (int a = 0; a < axes(); ++a) {
            const auto k = static_cast<std::size_t>(a);
            const AxisState<i64>& s = f.st.axis[k];
            if (!d_.rf[k].contains(s.rf) || !d_.jump[k].contains(s.jump)) return false;
            if (d_.size[k].given && !d_.size[k].contains(s.size)) return false;
            if (d_.rf_within_input && s.rf > d_.input[k]) return false;
        }
        if (d_.max_params != no_limit && f.params > d_.max_params) return false;
        if (d_.max_macs != no_limit && f.macs > d_.max_macs) return false;
        return true;
    }

    // |2 x - lo - hi| over axes, x the RF (a feasible one: inside its range).
    i64 rf_error(const Frame<A>& f) const noexcept {
        i64 sum = 0;
        for (int a = 0; a < axes(); ++a) {
            const Range& r = d_.rf[static_cast<std::size_t>(a)];
            if (!r.given) continue;
            const i64 x = f.st.axis[static_cast<std::size_t>(a)].rf;
            const i64 t = (x - r.lo) - (r.hi - x);
            sum += t < 0 ? -t : t;  // <= the total width (Plan checked it fits)
        }
        return sum;
    }

    Vec objective(const Frame<A>& f, int n) const noexcept {
        Vec v{};
        for (std::size_t i = 0; i < d_.objectives.size(); ++i) {
            switch (d_.objectives[i]) {
                case Objective::macs: v[i] = f.macs; break;
                case Objective::params: v[i] = f.params; break;
                case Objective::depth: v[i] = n; break;
                case Objective::rf_error: v[i] = rf_error(f); break;
            }
        }
        return v;
    }

    // A lower bound of the objective vector over the subtree of a live node of length n.
    Vec lower_bound(const Frame<A>& f, int n) const noexcept {
        Vec v{};
        for (std::size_t i = 0; i < d_.objectives.size(); ++i) {
            switch (d_.objectives[i]) {
                case Objective::macs: v[i] = f.macs; break;
                case Objective::params: v[i] = f.params; break;
                case Objective::depth: v[i] = std::max(n, r_.depth_lo); break;
                case Objective::rf_error: {
                    i64 sum = 0;
                    const auto nn = static_cast<std::size_t>(n);
                    for (int a = 0; a < axes(); ++a) {
                        const auto k = static_cast<std::size_t>(a);
                        const Range& r = d_.rf[k];
                        if (!r.given) continue;
                        const AxisState<i64>& s = f.st.axis[k];
                        const i64 reach = detail::sat_add(s.rf, detail::sat_mul(s.jump, b_.rf_gain[nn * static_cast<std::size_t>(axes()) + k]));
                        const i64 lo = std::max(s.rf, r.lo), hi = std::min(reach, r.hi);
                        if (lo > hi) continue;  // hopeless (pruned before); 0 is a valid bound
                        const i64 at_lo = (lo - r.lo) - (r.hi - lo), at_hi = (hi - r.lo) - (r.hi - hi);
                        sum += at_lo >= 0 ? at_lo : (at_hi <= 0 ? -at_hi : ((r.hi - r.lo) & 1));
                    }
                    v[i] = sum;
                    break;
                }
            }
        }
        return v;
    }

private:
    const Plan& plan_;
    const Restriction& r_;
    const Bounds& b_;
    const SpaceDef& d_;
};

// One thread's depth-first walker.
template <int A>
class Walker {
public:
    Walker(const Plan& plan, const Restriction& r, const Bounds& b, const Groups& g, const Config& cfg,
           Accumulator<A>& acc, Control& control, Incumbents& shared, bool caller)
        : plan_(plan), r_(r), cfg_(cfg), k_(plan, r, b), g_(g), acc_(acc), control_(control), shared_(shared),
          caller_(caller), d_(plan.def()) {
        const auto hi = static_cast<std::size_t>(r.depth_hi);
        frames_.resize(hi + 1);
        path_.resize(hi);
        next_.resize(hi + 1);
        bnb_ = cfg.prune && !cfg.counts;
        pareto_ = plan.n_objectives() > 1;
        if (d_.coverage) {
            reach_.assign((hi + 1) * static_cast<std::size_t>(d_.axes), ReachSet(d_.reach_cap));
            reach_ready_.assign(hi + 1, 0);
            reach_ready_[0] = 1;
        }
        if (cfg.counts) acc_.hist.configure(d_.axes, d_.rf[0].given ? d_.rf[0].lo : 1, b.rf_cap[0]);
        if (cfg.stream_rows > 0) {
            chunk_.width = 1 + r.depth_hi + 3 * d_.axes + 2 + plan.n_objectives();
            chunk_.data.reserve(static_cast<std::size_t>(cfg.stream_rows * chunk_.width));
        }
    }

    // Runs one task: the node `prefix` (length len; its ancestors are other tasks') and its
    // extensions up to max_len layers. Returns false if the run was stopped.
    bool task(const std::int32_t* prefix, int len, int max_len) {
        max_len_ = max_len;
        frames_[0] = k_.root();
        for (int i = 0; i < len; ++i) {
            const auto& allowed = r_.allowed[static_cast<std::size_t>(i)];
            const u32 c = static_cast<u32>(prefix[i]);
            if (prefix[i] < 0 || !std::binary_search(allowed.begin(), allowed.end(), c))
                throw std::invalid_argument("sweep: task prefix choice " + std::to_string(prefix[i]) + " at position " +
                                            std::to_string(i) + " is not allowed");
            path_[static_cast<std::size_t>(i)] = c;
            if (i + 1 < len) {
                Frame<A>& out = frames_[static_cast<std::size_t>(i + 1)];
                k_.step(frames_[static_cast<std::size_t>(i)], i, c, out);
                if (cfg_.prune && k_.hopeless(out, i + 1)) return true;
                if (d_.coverage) {
                    reach_ready_[static_cast<std::size_t>(i + 1)] = 0;
                    if (!out.dead) ensure_reach(i + 1);
                }
            } else if (!visit(i, c)) {
                return !control_.stop.load(std::memory_order_relaxed);
            }
        }
        return dfs(len);
    }

    void flush() {
        if (chunk_.rows == 0) return;
        if (caller_) control_.emit(chunk_);
        else control_.push(std::move(chunk_));
        chunk_.rows = 0;
        chunk_.data.clear();
    }

private:
    const Plan& plan_;
    const Restriction& r_;
    const Config& cfg_;
    Kernel<A> k_;
    const Groups& g_;
    Accumulator<A>& acc_;
    Control& control_;
    Incumbents& shared_;
    bool caller_;
    bool shared_kth_given_ = false;  // the other threads' best so far (refreshed by share())
    Found shared_kth_;
    std::vector<Found> shared_front_;
    const SpaceDef& d_;
    bool bnb_ = false, pareto_ = false;
    int max_len_ = 0;
    std::vector<Frame<A>> frames_;
    std::vector<u32> path_;
    std::vector<std::size_t> next_;
    std::vector<ReachSet> reach_;
    std::vector<std::uint8_t> reach_ready_;
    u64 tick_ = 0;
    Chunk chunk_;

    bool dfs(int base) {
        if (base >= max_len_) return true;
        int L = base;
        next_[static_cast<std::size_t>(L)] = 0;
        for (;;) {
            if (L + 1 == max_len_) {  // children are the last layer: judged by groups
                leaves(L);
                if ((++tick_ & 0xfu) == 0 && stopping()) return false;
                if (L == base) return true;
                --L;
                continue;
            }
            const auto& allowed = r_.allowed[static_cast<std::size_t>(L)];
            std::size_t& i = next_[static_cast<std::size_t>(L)];
            if (i >= allowed.size()) {
                if (L == base) return true;
                --L;
                continue;
            }
            const u32 c = allowed[i++];
            path_[static_cast<std::size_t>(L)] = c;
            if (visit(L, c)) next_[static_cast<std::size_t>(++L)] = 0;
            if ((++tick_ & 0x3ffu) == 0 && stopping()) return false;
        }
    }

    // The children of node L that end the walk (length max_len): one fold per group of equal
    // choices. No bound is needed here: a last layer is judged by the targets themselves.
    void leaves(int L) {
        const int n = L + 1;
        const auto nn = static_cast<std::size_t>(n);
        const Frame<A>& in = frames_[static_cast<std::size_t>(L)];
        Frame<A>& out = frames_[nn];
        const std::size_t g_end = g_.first_group[static_cast<std::size_t>(L) + 1];
        const bool quick = !d_.coverage && !in.dead && n >= r_.depth_lo;
        for (std::size_t g = g_.first_group[static_cast<std::size_t>(L)]; g < g_end; ++g) {
            const u32* members = &g_.members[g_.first_member[g]];
            const std::size_t m = g_.first_member[g + 1] - g_.first_member[g];
            acc_.visited += m;
            ++acc_.folds;
            const Groups::Prepared& prep = g_.prepared[g];
            if (quick && prep.fast) {
                if (fast_leaf(in, prep, out)) {
                    path_[static_cast<std::size_t>(L)] = members[0];
                    record(out, n, members, m);
                }
                continue;
            }
            path_[static_cast<std::size_t>(L)] = members[0];
            k_.step(in, L, members[0], out);
            if (d_.coverage) reach_ready_[nn] = 0;
            if (n < r_.depth_lo || !k_.meets_targets(out) || !covered(n)) continue;
            record(out, n, members, m);
        }
    }

    // A last layer without 'same' padding or ceil_mode, on a live node: the fold of fold_layer
    // (same checked operations: any overflow or collapse makes the stack infeasible, as there)
    // and every target, without copying the node's state unless the stack is feasible.
    bool fast_leaf(const Frame<A>& in, const Groups::Prepared& prep, Frame<A>& out) {
        if (in.rules_bad || !prep.rule_ok) return false;
        const i64 down = in.down + (prep.down ? 1 : 0);
        if (d_.max_downsampling != no_limit && down > d_.max_downsampling) return false;
        std::array<i64, static_cast<std::size_t>(A)> rf{}, jump{}, pad{}, size{};
        i64 pixels = 1;
        for (int a = 0; a < k_.axes(); ++a) {
            const auto k = static_cast<std::size_t>(a);
            const AxisState<i64>& s = in.st.axis[k];
            const Groups::Axis& p = prep.axis[k];
            i64 t, u;
            if (checked::mul(s.jump, p.keff1, t) || checked::add(s.rf, t, rf[k]) || checked::mul(s.jump, p.before, u) ||
                checked::add(s.padding, u, pad[k]) || checked::mul(s.jump, p.stride, jump[k]))
                return false;
            if (!d_.rf[k].contains(rf[k]) || !d_.jump[k].contains(jump[k])) return false;
            if (d_.rf_within_input && rf[k] > d_.input[k]) return false;
            if (d_.sized) {
                i64 padded;
                if (checked::add(s.size, p.before, padded) || checked::add(padded, p.after, padded)) return false;
                size[k] = rfsearch::detail::floor_div(padded - p.keff, p.stride) + 1;
                if (size[k] < 1 || (d_.size[k].given && !d_.size[k].contains(size[k]))) return false;
                if (d_.channels && checked::mul(pixels, size[k], pixels))
                    throw std::overflow_error("sweep: MACs exceed the int64 range");
            }
        }
        i64 params = in.params, macs = in.macs;
        if (d_.channels && prep.conv) {
            const i64 c_out = plan_.width(in.stage);
            i64 weights, grow;
            if (checked::mul(prep.volume, in.c_in, weights) || checked::mul(weights, c_out, weights) ||
                checked::add(weights, d_.bias ? c_out : 0, grow) || checked::add(params, grow, params))
                throw std::overflow_error("sweep: params exceed the int64 range");
            if (d_.sized && (checked::mul(weights, pixels, grow) || checked::add(macs, grow, macs)))
                throw std::overflow_error("sweep: MACs exceed the int64 range");
        }
        if (d_.max_params != no_limit && params > d_.max_params) return false;
        if (d_.max_macs != no_limit && macs > d_.max_macs) return false;
        out = in;
        for (int a = 0; a < k_.axes(); ++a) {
            const auto k = static_cast<std::size_t>(a);
            out.st.axis[k] = AxisState<i64>{rf[k], jump[k], pad[k], d_.sized ? size[k] : in.st.axis[k].size};
        }
        out.params = params;
        out.macs = macs;
        return true;
    }

    bool stopping() {
        if ((tick_ & 0xffffu) == 0) {
            if (bnb_) share();
            if (caller_) return control_.poll();
        }
        return control_.stop.load(std::memory_order_relaxed);
    }

  public:
    // Publishes this thread's best stacks and takes the merged ones as bounds (branch-and-bound).
    void share() {
        if (bnb_) shared_.exchange(acc_.top, acc_.front, shared_kth_given_, shared_kth_, shared_front_);
    }

  private:

    // The child of node L by choice c becomes node L + 1: folded, judged, recorded. Returns
    // whether to descend into it.
    bool visit(int L, u32 c) {
        const int n = L + 1;
        const auto nn = static_cast<std::size_t>(n);
        Frame<A>& out = frames_[nn];
        ++acc_.visited;
        ++acc_.folds;
        k_.step(frames_[static_cast<std::size_t>(L)], L, c, out);
        if (d_.coverage) reach_ready_[nn] = 0;
        if (cfg_.prune) {
            if (k_.hopeless(out, n)) return false;
            if (bnb_ && prunable(k_.lower_bound(out, n), n)) return false;
        }
        if (n >= r_.depth_lo && k_.meets_targets(out) && covered(n)) record(out, n, &c, 1);
        if (n >= max_len_) return false;
        if (d_.coverage && !out.dead) ensure_reach(n);
        return true;
    }

    // Whether no stack of the subtree of node path[0 .. n) (lower bound lb) can be listed: for
    // top-K, K known stacks rank before all of them (a worse bound, or an equal bound and a
    // prefix after the K-th stack's choices: every stack of the subtree then has a larger
    // vector or larger choices); for the Pareto front, a known point dominates the bound, or
    // equals it with choices before the prefix (the subtree can only hold dominated stacks or
    // later representatives of that point).
    bool prunable(const Vec& lb, int n) const noexcept {
        const u32* path = path_.data();
        const auto nn = static_cast<std::size_t>(n);
        auto after = [&](const Vec& v, const std::vector<u32>& choices) {
            if (!vec_equal(lb, v)) return vec_less(v, lb);
            return choices_less(choices.data(), choices.size(), path, nn);  // then every extension is after too
        };
        bool top_done = cfg_.top <= 0 || (cfg_.seed_kth_given && after(cfg_.seed_kth.vec, cfg_.seed_kth.choices)) ||
                        (shared_kth_given_ && after(shared_kth_.vec, shared_kth_.choices));
        if (!top_done && static_cast<i64>(acc_.top.size()) >= cfg_.top)
            top_done = after(acc_.top.front().vec, acc_.top.front().choices);
        if (!top_done) return false;
        if (!pareto_) return true;
        auto covers = [&](const Found& f) { return dominates(f.vec, lb) || (vec_equal(f.vec, lb) && after(f.vec, f.choices)); };
        for (const Found& f : cfg_.seed_front)
            if (covers(f)) return true;
        for (const Found& f : shared_front_)
            if (covers(f)) return true;
        for (const Found& f : acc_.front)
            if (covers(f)) return true;
        return false;
    }

    void ensure_reach(int n) {
        const auto nn = static_cast<std::size_t>(n);
        if (reach_ready_[nn]) return;
        const auto ax = static_cast<std::size_t>(d_.axes);
        const LayerParams* p = plan_.params(n - 1, path_[nn - 1]);
        for (std::size_t a = 0; a < ax; ++a) {
            ReachSet& set = reach_[nn * ax + a];
            set = reach_[(nn - 1) * ax + a];
            set.push(p[a].kernel, p[a].stride, p[a].dilation);
        }
        reach_ready_[nn] = 1;
    }

    bool covered(int n) {
        if (!d_.coverage) return true;
        ensure_reach(n);
        const auto ax = static_cast<std::size_t>(d_.axes);
        for (std::size_t a = 0; a < ax; ++a) {
            const ReachSet& set = reach_[static_cast<std::size_t>(n) * ax + a];
            if (!set.computed()) {
                std::string rf;
                for (std::size_t b = 0; b < ax; ++b)
                    rf += (b ? ", " : "") + std::to_string(frames_[static_cast<std::size_t>(n)].st.axis[b].rf);
                throw std::domain_error("coverage cannot be decided: the RF [" + rf +
                                        "] is above the reached-offset cap (rfsearch.search.reach.REACH_MAX_RF)");
            }
            if (set.blind_spots() != 0) return false;
        }
        return true;
    }

    // Records the feasible stacks path[0 .. n - 1) with the last choice each of `members` (m
    // choices acting the same, ascending).
    void record(const Frame<A>& f, int n, const u32* members, std::size_t m) {
        const auto nn = static_cast<std::size_t>(n), last = nn - 1;
        acc_.feasible += m;
        if (cfg_.counts) {
            typename Histogram<A>::Key key{};
            for (int a = 0; a < k_.axes(); ++a) key[static_cast<std::size_t>(a)] = f.st.axis[static_cast<std::size_t>(a)].rf;
            acc_.hist.add(key, m);
        }
        const Vec v = k_.objective(f, n);
        for (std::size_t j = 0; j < m; ++j) {  // a member not kept: the later (larger) ones neither
            path_[last] = members[j];
            if (!top_insert(acc_.top, cfg_.top, v, path_.data(), nn)) break;
        }
        if (pareto_) {
            path_[last] = members[0];  // equal vectors: the first stack represents them
            front_insert(acc_.front, v, path_.data(), nn);
        }
        if (cfg_.stream_rows > 0) {
            for (std::size_t j = 0; j < m; ++j) {
                path_[last] = members[j];
                stream(f, n, v);
            }
        }
        path_[last] = members[0];
    }

    void stream(const Frame<A>& f, int n, const Vec& v) {
        auto& out = chunk_.data;
        out.push_back(n);
        for (int i = 0; i < r_.depth_hi; ++i) out.push_back(i < n ? static_cast<i64>(path_[static_cast<std::size_t>(i)]) : -1);
        for (int a = 0; a < d_.axes; ++a) out.push_back(f.st.axis[static_cast<std::size_t>(a)].rf);
        for (int a = 0; a < d_.axes; ++a) out.push_back(f.st.axis[static_cast<std::size_t>(a)].jump);
        for (int a = 0; a < d_.axes; ++a) out.push_back(d_.sized ? f.st.axis[static_cast<std::size_t>(a)].size : 0);
        out.push_back(d_.channels ? f.params : -1);
        out.push_back(d_.channels && d_.sized ? f.macs : -1);
        for (int i = 0; i < plan_.n_objectives(); ++i) out.push_back(v[static_cast<std::size_t>(i)]);
        if (++chunk_.rows >= cfg_.stream_rows) flush();
    }
};

// The merged results of a run.
struct Outcome {
    u64 visited = 0;
    u64 folds = 0;
    u64 feasible = 0;
    std::vector<i64> hist_keys;  // n x axes
    std::vector<u64> hist_counts;
    std::vector<Found> top;    // sorted (documented order), at most K
    std::vector<Found> front;  // sorted by vector
    bool cancelled = false;
};

template <int A>
void merge_into(Outcome& out, std::vector<Accumulator<A>>& accs, int axes, i64 k) {
    Histogram<A> hist;
    hist.configure(axes, 1, 0);  // map only: key order does not matter, Python sorts
    std::vector<Found> front;
    for (auto& acc : accs) {
        out.visited += acc.visited;
        out.folds += acc.folds;
        out.feasible += acc.feasible;
        hist.merge(acc.hist);
        for (Found& f : acc.top) out.top.push_back(std::move(f));
        for (const Found& f : acc.front) front_insert(front, f.vec, f.choices.data(), f.choices.size());
    }
    hist.each([&](const typename Histogram<A>::Key& key, u64 n) {
        for (int a = 0; a < axes; ++a) out.hist_keys.push_back(key[static_cast<std::size_t>(a)]);
        out.hist_counts.push_back(n);
    });
    std::sort(out.top.begin(), out.top.end(), found_less);
    if (static_cast<i64>(out.top.size()) > k) out.top.resize(static_cast<std::size_t>(std::max<i64>(k, 0)));
    std::sort(front.begin(), front.end(), [](const Found& a, const Found& b) { return vec_less(a.vec, b.vec); });
    out.front = std::move(front);
}

// Runs tasks [0, n_tasks): task t is the prefix tasks[t * split .. + split); a first entry of
// -1 marks the shallow task (the nodes shorter than `split`). split == 0: one task, the root.
// Poll/sink run on the calling thread. Rethrows the first error of any thread.
template <int A>
Outcome run_tasks(const Plan& plan, const Restriction& r, const Config& cfg, const std::int32_t* tasks, i64 n_tasks,
                  int split, Control::Poll poll, Control::Sink sink) {
    const Bounds bounds = plan.bounds(r);
    const Groups groups = plan.groups(r);
    const int threads = static_cast<int>(std::clamp<i64>(resolve_threads(cfg.threads), 1, std::max<i64>(n_tasks, 1)));
    Control control(std::move(poll), std::move(sink), static_cast<std::size_t>(2 * threads));
    std::vector<Accumulator<A>> accs(static_cast<std::size_t>(threads));
    Incumbents shared(cfg.top);
    std::atomic<i64> next{0};

    auto work = [&](int t) {
        const bool caller = t == 0;
        try {
            Walker<A> w(plan, r, bounds, groups, cfg, accs[static_cast<std::size_t>(t)], control, shared, caller);
            for (;;) {
                if (control.stop.load()) break;
                if (caller && control.poll()) break;
                const i64 i = next.fetch_add(1);
                if (i >= n_tasks) break;
                const std::int32_t* prefix = tasks + i * split;
                const bool ok = split == 0 ? w.task(nullptr, 0, r.depth_hi)
                                : prefix[0] < 0 ? w.task(nullptr, 0, split - 1)
                                                : w.task(prefix, split, r.depth_hi);
                if (!ok) break;
                w.share();
            }
            if (!control.stop.load()) w.flush();
        } catch (...) {
            control.fail(std::current_exception());
        }
        if (!caller) control.worker_done();
    };

    std::vector<std::thread> pool;
    try {
        for (int t = 1; t < threads; ++t) {
            control.add_worker(1);
            try {
                pool.emplace_back(work, t);
            } catch (...) {
                control.add_worker(-1);
                throw;
            }
        }
    } catch (...) {
        // no more threads: run with those started (every task is still taken by someone)
    }
    work(0);
    control.wait_workers();
    control.wake();
    for (auto& th : pool) th.join();
    if (control.error()) std::rethrow_exception(control.error());
    Outcome out;
    out.cancelled = control.cancelled() || control.stop.load();
    if (!out.cancelled) merge_into(out, accs, plan.axes(), cfg.top);
    return out;
}

// The tasks of a restriction: the live prefixes of the smallest length `split` that gives at
// least min_tasks of them (or depth_hi; and never more than max_tasks: the length before is
// kept). Live = not hopeless under `prune`. Deterministic: a function of the plan and the
// restriction only. Returns the prefixes (n x split, row-major) and split; with split > 0 a
// first row of -1 stands for the shallow task.
struct TaskList {
    int split = 0;
    std::vector<std::int32_t> rows;
    i64 n = 0;
};

template <int A>
TaskList make_tasks(const Plan& plan, const Restriction& r, bool prune, i64 min_tasks, i64 max_tasks) {
    const Bounds b = plan.bounds(r);
    Kernel<A> k(plan, r, b);
    struct Node {
        Frame<A> f;
        std::vector<std::int32_t> prefix;
    };
    std::vector<Node> level{Node{k.root(), {}}};
    int split = 0;
    while (split < r.depth_hi && static_cast<i64>(level.size()) < min_tasks) {
        std::vector<Node> next;
        bool too_many = false;
        for (const Node& node : level) {
            for (u32 c : r.allowed[static_cast<std::size_t>(split)]) {
                Node child{Frame<A>{}, node.prefix};
                k.step(node.f, split, c, child.f);
                if (prune && k.hopeless(child.f, split + 1)) continue;
                child.prefix.push_back(static_cast<std::int32_t>(c));
                next.push_back(std::move(child));
                if (static_cast<i64>(next.size()) > max_tasks) {
                    too_many = true;
                    break;
                }
            }
            if (too_many) break;
        }
        if (too_many) break;
        level = std::move(next);
        ++split;
    }
    TaskList out;
    out.split = split;
    if (split == 0) {
        out.n = 1;
        return out;
    }
    out.n = static_cast<i64>(level.size()) + 1;
    out.rows.assign(static_cast<std::size_t>(split), -1);
    for (const Node& node : level) out.rows.insert(out.rows.end(), node.prefix.begin(), node.prefix.end());
    return out;
}

// Work weights of tasks for balanced shards: 1 + the live nodes within `probe` levels below
// each task's node (the shallow task: 1 + its live nodes). Deterministic.
template <int A>
std::vector<i64> task_weights(const Plan& plan, const Restriction& r, bool prune, const std::int32_t* tasks, i64 n_tasks,
                              int split, int probe) {
    const Bounds b = plan.bounds(r);
    Kernel<A> k(plan, r, b);
    std::vector<i64> out(static_cast<std::size_t>(n_tasks), 1);
    std::vector<Frame<A>> frames(static_cast<std::size_t>(r.depth_hi + 1));
    std::vector<std::size_t> next(static_cast<std::size_t>(r.depth_hi + 1));
    // Live nodes of depth (base, limit] under frames[base].
    auto count = [&](int base, int limit) {
        i64 total = 0;
        if (base >= limit) return total;
        int L = base;
        next[static_cast<std::size_t>(L)] = 0;
        for (;;) {
            const auto& allowed = r.allowed[static_cast<std::size_t>(L)];
            std::size_t& i = next[static_cast<std::size_t>(L)];
            if (i >= allowed.size()) {
                if (L == base) return total;
                --L;
                continue;
            }
            Frame<A>& child = frames[static_cast<std::size_t>(L + 1)];
            k.step(frames[static_cast<std::size_t>(L)], L, allowed[i++], child);
            if (prune && k.hopeless(child, L + 1)) continue;
            ++total;
            if (L + 1 < limit) next[static_cast<std::size_t>(++L)] = 0;
        }
    };
    for (i64 t = 0; t < n_tasks; ++t) {
        frames[0] = k.root();
        if (split == 0) {
            out[static_cast<std::size_t>(t)] += count(0, std::min(r.depth_hi, probe));
            continue;
        }
        const std::int32_t* prefix = tasks + t * split;
        if (prefix[0] < 0) {
            out[static_cast<std::size_t>(t)] += count(0, split - 1);
            continue;
        }
        bool alive = true;
        for (int i = 0; i < split && alive; ++i) {
            k.step(frames[static_cast<std::size_t>(i)], i, static_cast<u32>(prefix[i]), frames[static_cast<std::size_t>(i + 1)]);
            alive = !(prune && k.hopeless(frames[static_cast<std::size_t>(i + 1)], i + 1));
        }
        if (alive) out[static_cast<std::size_t>(t)] += count(split, std::min(r.depth_hi, split + probe));
    }
    return out;
}

// Knuth's estimator of the number of nodes the walk visits (live nodes under `prune`): random
// root-to-leaf walks choosing uniformly among the live children, each adding the products of
// the branching factors met; the mean is an unbiased estimate of the tree size. Seeded,
// deterministic. An estimate only (its variance is high on lopsided trees).
template <int A>
double estimate_nodes(const Plan& plan, const Restriction& r, bool prune, int samples, u64 seed) {
    const Bounds b = plan.bounds(r);
    Kernel<A> k(plan, r, b);
    u64 state = seed;
    auto next_random = [&] {
        state = detail::mix(state);
        return state;
    };
    double total = 0;
    std::vector<Frame<A>> live;
    for (int s = 0; s < samples; ++s) {
        Frame<A> node = k.root();
        double weight = 1, sum = 0;
        for (int L = 0; L < r.depth_hi; ++L) {
            live.clear();
            for (u32 c : r.allowed[static_cast<std::size_t>(L)]) {
                Frame<A> child;
                k.step(node, L, c, child);
                if (!(prune && k.hopeless(child, L + 1))) live.push_back(child);
            }
            if (live.empty()) break;
            weight *= static_cast<double>(live.size());
            sum += weight;
            node = live[static_cast<std::size_t>(next_random() % live.size())];
        }
        total += sum;
    }
    return samples > 0 ? total / samples : 0.0;
}

// Calls f with the axis count as a compile-time constant (1, 2, 3, else up to max_axes).
template <class F>
decltype(auto) with_axes(int axes, F&& f) {
    switch (axes) {
        case 1: return f(std::integral_constant<int, 1>{});
        case 2: return f(std::integral_constant<int, 2>{});
        case 3: return f(std::integral_constant<int, 3>{});
        default: return f(std::integral_constant<int, max_axes>{});
    }
}

}  // namespace sweep
}  // namespace rfsearch
