// Exact counting of the feasible stacks of a search space by dynamic programming over the fold's
// state, and the completion tables behind exact uniform sampling (header-only, no Python).
//
// The C++ twin of rfsearch/search/count.py, rule for rule (its docstring explains the state and
// why the pruning is sound); tests check both against the brute-force oracle. In short:
//
// - A space is per position a list of choices (a layer on every axis, and whether the rules
//   allow it), a depth range, targets and an optional max_downsampling rule. Choices with the
//   same parameters move the state the same way: they are grouped into one Move with a weight.
// - The *outer state* after a prefix is per axis (jump, effective padding, output size) and the
//   number of downsampling layers; padding is kept only when some choice pads more before than
//   k_eff - 1, sizes only with an input size, the downsampling count only with the rule. For each
//   outer state the DP keeps the distribution {RF tuple: number of prefixes}, sorted; a move
//   shifts all its RFs by the same amount, so a distribution moves as a whole and the shifted
//   copies that land on one state are merged (k-way, they stay sorted).
// - A prefix dies when the fold collapses or overflows, a rule fails, or it can provably never
//   become feasible (RF past its bound, jump past its target or not dividing an exact target,
//   output size below its target when no later choice can grow it).
//
// Counts are exact. Every count the DP stores is a number of choice sequences (prefixes of one
// length, completions of one prefix, feasible stacks of one RF), so none exceeds the space's
// total number of candidates: counts are fixed-width limb arrays sized from that total (no
// allocation per entry), every addition checks the carry out of the top limb anyway (it would
// be a bug: std::overflow_error, never a wrapped value), and values leave as BigUint.
//
// Cost: O(sum over layers of states x moves) merges of distributions; FeasibleTables also keeps
// the completion counts of every layer (memory: every reachable (state, RF) with its count).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bigint.hpp"
#include "fold.hpp"

namespace rfsearch {
namespace count {

inline constexpr int max_axes = default_max_axes;
using limb = BigUint::limb;
using Ints = std::array<i64, max_axes>;

// An inclusive target range on one axis.
struct Range {
    bool given = false;
    i64 lo = 0, hi = 0;
};

// One choice of a position: its layer on every axis, and whether the rules allow it
// (stride_on; whether it downsamples is read from its strides).
struct Choice {
    std::array<LayerParams, max_axes> axes{};
    bool allowed = true;
};

// What the counter reads of a search space (built by rfsearch/search/count.py).
struct Space {
    int n_axes = 1;
    i64 depth_lo = 1, depth_hi = 1;
    i64 max_down = -1;  // max_downsampling rule; -1: none
    bool sized = false;
    Ints input_size{};
    std::array<Range, max_axes> rf{}, jump{}, size{};
    bool rf_within_input = false;
    // positions[k]: the choices of position k; later positions use the last list.
    std::vector<std::vector<Choice>> positions;
    // Most memory the DP may hold (an estimate of its tables, in bytes); 0: no limit.
    std::size_t max_bytes = 0;
};

// Thrown when poll() asks the computation to stop (the binding turns it into Ctrl-C's error).
struct Cancelled : std::exception {
    const char* what() const noexcept override { return "rfsearch count: cancelled"; }
};

// Thrown when the DP's tables would pass Space::max_bytes: the space has too many states (or
// RF values per state) to count in that memory. Never an approximation: no result at all.
struct TooLarge : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {
// dst += src * w over n limbs.
inline void add_mul(limb* dst, const limb* src, std::uint32_t w, std::size_t n) {
    std::uint64_t carry = 0;
    for (std::size_t i = 0; i < n; ++i) {
        // dst + src * w + carry <= (2^32-1) + (2^32-1)^2 + (2^32-1) = 2^64 - 1: no overflow.
        const std::uint64_t cur = std::uint64_t{dst[i]} + std::uint64_t{src[i]} * w + carry;
        dst[i] = static_cast<limb>(cur & 0xffffffffu);
        carry = cur >> 32;
    }
    if (carry != 0) throw std::overflow_error("rfsearch count: a count passed its width (a bug: please report)");
}
inline bool is_zero(const limb* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i)
        if (p[i] != 0) return false;
    return true;
}
inline int compare(const limb* a, const limb* b, std::size_t n) noexcept {
    for (std::size_t i = n; i-- > 0;)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}
// a -= b (a >= b).
inline void subtract(limb* a, const limb* b, std::size_t n) noexcept {
    std::uint64_t borrow = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t take = std::uint64_t{b[i]} + borrow;
        borrow = a[i] < take ? 1u : 0u;
        a[i] = static_cast<limb>((std::uint64_t{a[i]} + (borrow << 32)) - take);
    }
}
inline void subtract_one(limb* a, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i)
        if (a[i]-- != 0) return;
}
// Lexicographic comparison of two RF tuples of n axes.
inline int compare_keys(const i64* a, const i64* b, int n) noexcept {
    for (int i = 0; i < n; ++i)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
}
}  // namespace detail

// The outer state: per axis (jump, padding, size), then the downsampling count.
struct Outer {
    std::array<i64, 3 * max_axes + 1> v{};
    bool operator==(const Outer& o) const noexcept { return v == o.v; }
};
inline constexpr std::size_t down_slot = 3 * max_axes;

struct OuterHash {
    std::size_t operator()(const Outer& o) const noexcept {
        std::uint64_t h = 0;
        for (i64 x : o.v) {
            h ^= static_cast<std::uint64_t>(x) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        }
        h ^= h >> 31;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 29;
        return static_cast<std::size_t>(h);
    }
};

// Choices of one position that move the state the same way.
struct Move {
    std::array<LayerParams, max_axes> axes{};
    bool down = false;  // stride > 1 on some axis
    bool allowed = true;
    std::uint32_t weight = 0;  // number of choices
};

// An RF distribution: sorted RF tuples (n x A) and their counts (n x W limbs).
struct Dist {
    std::vector<i64> rf;
    std::vector<limb> count;
};

// The states of one depth, each with its distribution.
struct Level {
    std::vector<Outer> outer;
    std::vector<Dist> dist;
    std::unordered_map<Outer, std::uint32_t, OuterHash> index;

    void clear() {
        outer.clear();
        outer.shrink_to_fit();
        dist.clear();
        dist.shrink_to_fit();
        index.clear();
    }
};

// The DP's state machine for one space: moves, transitions, final checks, the count width.
class Machine {
public:
    explicit Machine(const Space& s) : s_(s), n_axes_(s.n_axes) {
        if (s.n_axes < 1 || s.n_axes > max_axes)
            throw std::invalid_argument("count: the number of axes must be in [1, " + std::to_string(max_axes) + "]");
        if (s.depth_lo < 1 || s.depth_hi < s.depth_lo)
            throw std::invalid_argument("count: depth must satisfy 1 <= min <= max");
        if (s.positions.empty()) throw std::invalid_argument("count: no choice lists");
        for (int a = 0; a < n_axes_; ++a) {
            const auto i = static_cast<std::size_t>(a);
            if (s.sized && s.input_size[i] < 1) throw std::invalid_argument("count: input sizes must be >= 1");
            for (const Range* r : {&s.rf[i], &s.jump[i], &s.size[i]})
                if (r->given && (r->lo < 1 || r->hi < r->lo)) throw std::invalid_argument("count: bad target range");
        }
        keys_ = static_cast<i64>(s.positions.size());
        for (const auto& choices : s.positions) {
            if (choices.empty()) throw std::invalid_argument("count: a position has no choices");
            if (choices.size() > 0xffffffffu) throw std::invalid_argument("count: too many choices at a position");
            std::vector<Move> moves;
            std::vector<std::int32_t> move_of;
            std::map<std::vector<i64>, std::int32_t> groups;
            for (const Choice& c : choices) {
                std::vector<i64> key;
                bool down = false;
                for (int a = 0; a < n_axes_; ++a) {
                    const LayerParams& p = c.axes[static_cast<std::size_t>(a)];
                    if (check_params(p, s.sized) != ParamError::none)
                        throw std::invalid_argument("count: a choice has invalid layer parameters");
                    key.insert(key.end(), {p.kernel, p.stride, p.dilation, p.pad_before, p.pad_after, p.ceil_mode ? 1 : 0});
                    down = down || p.stride > 1;
                    track_padding_ = track_padding_ || pads_past_kernel(p);
                }
                key.push_back(c.allowed ? 1 : 0);
                auto found = groups.find(key);
                if (found == groups.end()) {
                    found = groups.emplace(key, static_cast<std::int32_t>(moves.size())).first;
                    Move m;
                    m.axes = c.axes;
                    m.down = down;
                    m.allowed = c.allowed;
                    moves.push_back(m);
                }
                ++moves[static_cast<std::size_t>(found->second)].weight;
                move_of.push_back(found->second);
            }
            moves_.push_back(std::move(moves));
            move_of_.push_back(std::move(move_of));
        }
        for (int a = 0; a < n_axes_; ++a) {
            const auto i = static_cast<std::size_t>(a);
            i64 bound = checked::max;
            if (s.rf[i].given) bound = std::min(bound, s.rf[i].hi);
            if (s.rf_within_input && s.sized) bound = std::min(bound, s.input_size[i]);
            rf_bound_[i] = bound;
        }
        // shrinking_[i]: no choice at positions >= i can grow the output size.
        shrinking_.assign(static_cast<std::size_t>(s.depth_hi + 1), true);
        for (i64 i = s.depth_hi - 1; i >= 0; --i) {
            bool grows = false;
            for (const Move& m : moves(i))
                for (int a = 0; a < n_axes_; ++a) grows = grows || grows_size(m.axes[static_cast<std::size_t>(a)]);
            shrinking_[static_cast<std::size_t>(i)] = shrinking_[static_cast<std::size_t>(i + 1)] && !grows;
        }
        // total = sum over depths lo..hi of the product of the choice counts.
        BigUint prefix(1);
        for (i64 length = 1; length <= s.depth_hi; ++length) {
            prefix.mul_small(static_cast<limb>(n_choices(length - 1)));
            if (length >= s.depth_lo) total_ += prefix;
        }
        width_ = std::max<std::size_t>(1, total_.limbs().size());
    }

    int n_axes() const noexcept { return n_axes_; }
    i64 depth_lo() const noexcept { return s_.depth_lo; }
    i64 depth_hi() const noexcept { return s_.depth_hi; }
    // Limbs of every count (enough for the total).
    std::size_t width() const noexcept { return width_; }
    const BigUint& total() const noexcept { return total_; }
    bool tracks_padding() const noexcept { return track_padding_; }

    std::size_t key(i64 position) const noexcept {
        return static_cast<std::size_t>(std::min(position, keys_ - 1));
    }
    const std::vector<Move>& moves(i64 position) const noexcept { return moves_[key(position)]; }
    i64 n_choices(i64 position) const noexcept { return static_cast<i64>(move_of_[key(position)].size()); }
    std::int32_t move_of(i64 position, i64 choice) const noexcept {
        return move_of_[key(position)][static_cast<std::size_t>(choice)];
    }

    Outer start() const noexcept {
        Outer o;
        for (int a = 0; a < n_axes_; ++a) {
            o.v[static_cast<std::size_t>(3 * a)] = 1;
            o.v[static_cast<std::size_t>(3 * a + 2)] = s_.sized ? s_.input_size[static_cast<std::size_t>(a)] : 0;
        }
        return o;
    }

    // The state after `m` at `position`, and the RF growth per axis; false if the prefix dies.
    bool step(const Outer& in, const Move& m, i64 position, Outer& out, Ints& grow) const noexcept {
        if (!m.allowed) return false;
        out = Outer{};
        if (s_.max_down >= 0) {
            const i64 down = in.v[down_slot] + (m.down ? 1 : 0);
            if (down > s_.max_down) return false;
            out.v[down_slot] = down;
        }
        for (int a = 0; a < n_axes_; ++a) {
            const auto i = static_cast<std::size_t>(a);
            // The fold with a placeholder RF of 1: everything but the RF is exact; the RF's own
            // bound is checked when the distribution is shifted.
            AxisState<i64> st;
            st.jump = in.v[3 * i];
            st.padding = in.v[3 * i + 1];
            st.size = in.v[3 * i + 2];
            AxisState<i64> next;
            if (fold_layer(st, m.axes[i], s_.sized, next) != Status::ok) return false;
            const i64 g = next.rf - 1;
            if (g >= rf_bound_[i]) return false;  // every live RF is >= 1
            const Range& j = s_.jump[i];
            if (j.given && (next.jump > j.hi || (j.lo == j.hi && j.lo % next.jump != 0))) return false;
            const Range& z = s_.size[i];
            if (z.given && s_.sized && next.size < z.lo && shrinking_[static_cast<std::size_t>(position + 1)])
                return false;
            out.v[3 * i] = next.jump;
            out.v[3 * i + 1] = track_padding_ ? next.padding : 0;
            out.v[3 * i + 2] = s_.sized ? next.size : 0;
            grow[i] = g;
        }
        return true;
    }

    // rf + grow into out; false if some axis passes its bound.
    bool shift(const i64* rf, const Ints& grow, i64* out) const noexcept {
        for (int a = 0; a < n_axes_; ++a) {
            const auto i = static_cast<std::size_t>(a);
            if (rf[a] > rf_bound_[i] - grow[i]) return false;
            out[a] = rf[a] + grow[i];
        }
        return true;
    }

    // Whether the jump and output size meet their targets (the RF is checked apart).
    bool outer_final(const Outer& o) const noexcept {
        for (int a = 0; a < n_axes_; ++a) {
            const auto i = static_cast<std::size_t>(a);
            const Range& j = s_.jump[i];
            const i64 jump = o.v[3 * i];
            if (j.given && (jump < j.lo || jump > j.hi)) return false;
            const Range& z = s_.size[i];
            const i64 size = o.v[3 * i + 2];
            if (z.given && (!s_.sized || size < z.lo || size > z.hi)) return false;
        }
        return true;
    }

    // Whether the RF meets its target (and the input size with rf_within_input).
    bool rf_final(const i64* rf) const noexcept {
        for (int a = 0; a < n_axes_; ++a) {
            const auto i = static_cast<std::size_t>(a);
            if (rf[a] > rf_bound_[i] || (s_.rf[i].given && rf[a] < s_.rf[i].lo)) return false;
        }
        return true;
    }

    bool stops(i64 depth, const Outer& o, const i64* rf) const noexcept {
        return depth >= s_.depth_lo && outer_final(o) && rf_final(rf);
    }

private:
    Space s_;
    int n_axes_;
    i64 keys_ = 0;
    std::vector<std::vector<Move>> moves_;
    std::vector<std::vector<std::int32_t>> move_of_;
    bool track_padding_ = false;
    Ints rf_bound_{};
    std::vector<bool> shrinking_;
    BigUint total_;
    std::size_t width_ = 1;

    // k_eff - 1, or -1 if it is past int64 (then no padding can exceed it).
    static i64 keff1(const LayerParams& p) noexcept {
        i64 v;
        return checked::mul(p.dilation, p.kernel - 1, v) ? -1 : v;
    }
    // Pads more before than k_eff - 1: the effective padding can then decide an overflow alone.
    static bool pads_past_kernel(const LayerParams& p) noexcept {
        const i64 k = keff1(p);
        return p.pad_before != pad_same && k >= 0 && p.pad_before > k;
    }
    // Can output more than its input (explicit padding beyond k_eff - 1).
    static bool grows_size(const LayerParams& p) noexcept {
        const i64 k = keff1(p);
        return p.pad_before != pad_same && k >= 0 && (p.pad_before > k || p.pad_after > k - p.pad_before);
    }
};

namespace detail {

// The memory the DP holds, estimated from what it stores: per RF entry its key and count, per
// state its key, hash node and vectors, per contribution its record. Checked as it grows, so a
// space too large to count stops early with TooLarge instead of exhausting the machine.
class Memory {
public:
    Memory(const Machine& m, std::size_t limit) noexcept
        : limit_(limit), entry_(static_cast<std::size_t>(m.n_axes()) * sizeof(i64) + m.width() * sizeof(limb)) {}
    static constexpr std::size_t per_state = sizeof(Outer) * 2 + sizeof(Dist) + 64;
    static constexpr std::size_t per_part = sizeof(Ints) + 16;

    std::size_t level(const Level& l) const noexcept {
        std::size_t n = l.outer.size() * per_state;
        for (const Dist& d : l.dist) n += d.count.size() * sizeof(limb) + d.rf.size() * sizeof(i64);
        return n;
    }
    std::size_t entries(std::size_t n) const noexcept { return n * entry_; }
    // TooLarge if `extra` more bytes would pass the limit.
    void check(std::size_t extra, i64 depth) const {
        if (limit_ != 0 && used_ + extra > limit_)
            throw TooLarge("counting needs more than " + std::to_string(limit_ >> 20) + " MiB of tables (at depth " +
                           std::to_string(depth) + "): the space has too many distinct states and RF values");
    }
    void add(std::size_t bytes, i64 depth) {
        check(bytes, depth);
        used_ += bytes;
    }
    void release(std::size_t bytes) noexcept { used_ -= std::min(used_, bytes); }
    std::size_t used() const noexcept { return used_; }

private:
    std::size_t limit_;
    std::size_t entry_;
    std::size_t used_ = 0;
};

inline Level start_level(const Machine& m) {
    Level level;
    level.outer.push_back(m.start());
    level.index.emplace(level.outer.back(), 0u);
    Dist d;
    d.rf.assign(static_cast<std::size_t>(m.n_axes()), 1);
    d.count.assign(m.width(), 0u);
    d.count[0] = 1;
    level.dist.push_back(std::move(d));
    return level;
}

// Contributions of source distributions to one target state: shifted by `grow`, times `weight`.
struct Contribution {
    std::uint32_t source;
    std::uint32_t weight;
    Ints grow;
};

// Merges the contributions (each a sorted stream once shifted) into one sorted distribution;
// TooLarge first if even the streams' total size would pass the memory budget.
inline void merge(const Machine& m, const Level& from, const std::vector<Contribution>& parts, Dist& out,
                  const Memory& memory, i64 depth) {
    const int A = m.n_axes();
    const auto a_size = static_cast<std::size_t>(A);
    const std::size_t W = m.width();
    struct Stream {
        const Dist* dist;
        std::size_t i, n;
        const Contribution* part;
        Ints key;
    };
    std::vector<Stream> streams;
    streams.reserve(parts.size());
    auto advance = [&](Stream& s) {
        for (; s.i < s.n; ++s.i) {
            if (m.shift(s.dist->rf.data() + s.i * a_size, s.part->grow, s.key.data())) return true;
            if (A == 1) break;  // one axis: sorted RFs, every later one is past the bound too
        }
        s.i = s.n;
        return false;
    };
    std::size_t upper = 0;
    for (const Contribution& c : parts) {
        const Dist& d = from.dist[c.source];
        Stream s{&d, 0, d.rf.size() / a_size, &c, {}};
        upper += s.n;
        if (advance(s)) streams.push_back(s);
    }
    memory.check(memory.entries(upper), depth);
    out.rf.clear();
    out.count.clear();
    out.rf.reserve(std::min<std::size_t>(upper, 1u << 20) * a_size);
    auto emit = [&](Stream& s) {
        const std::size_t n_out = out.rf.size() / a_size;
        if (n_out == 0 || compare_keys(out.rf.data() + (n_out - 1) * a_size, s.key.data(), A) != 0) {
            out.rf.insert(out.rf.end(), s.key.begin(), s.key.begin() + A);
            out.count.resize(out.count.size() + W, 0u);
        }
        add_mul(out.count.data() + out.count.size() - W, s.dist->count.data() + s.i * W, s.part->weight, W);
        ++s.i;
    };
    if (streams.size() == 1) {
        Stream& s = streams[0];
        do emit(s);
        while (advance(s));
        return;
    }
    if (A == 1 && !streams.empty()) {
        // One axis and RFs close together (the usual case: dilation spaces, long stacks): add
        // into a dense array over [lowest, highest] instead of merging, then keep the non-zero
        // slots (every entry adds a count >= 1, so a zero slot was never reached).
        i64 lowest = streams[0].key[0], highest = lowest;
        std::size_t entries = 0;
        for (const Stream& s : streams) {
            lowest = std::min(lowest, s.key[0]);
            std::size_t last = s.n;  // the last entry still within the bound (sorted RFs)
            Ints key{};
            while (last > s.i && !m.shift(s.dist->rf.data() + (last - 1), s.part->grow, key.data())) --last;
            highest = std::max(highest, s.dist->rf[last - 1] + s.part->grow[0]);
            entries += last - s.i;
        }
        const auto span = static_cast<std::uint64_t>(highest - lowest) + 1;
        if (span <= 4 * static_cast<std::uint64_t>(entries) + 64) {
            std::vector<limb> dense(static_cast<std::size_t>(span) * W, 0u);
            for (Stream& s : streams) {
                const i64 g = s.part->grow[0];
                for (std::size_t i = s.i; i < s.n; ++i) {
                    const i64 r = s.dist->rf[i];
                    if (r > highest - g) break;  // past the bound (highest is within it)
                    add_mul(dense.data() + static_cast<std::size_t>(r + g - lowest) * W, s.dist->count.data() + i * W,
                            s.part->weight, W);
                }
            }
            for (std::size_t slot = 0; slot < span; ++slot) {
                const limb* c = dense.data() + slot * W;
                if (is_zero(c, W)) continue;
                out.rf.push_back(lowest + static_cast<i64>(slot));
                out.count.insert(out.count.end(), c, c + W);
            }
            return;
        }
    }
    // k-way merge: a min-heap of streams by their current shifted RF.
    std::vector<std::uint32_t> heap;
    for (std::uint32_t i = 0; i < streams.size(); ++i) heap.push_back(i);
    auto later = [&](std::uint32_t x, std::uint32_t y) {
        return compare_keys(streams[x].key.data(), streams[y].key.data(), A) > 0;
    };
    std::make_heap(heap.begin(), heap.end(), later);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        Stream& s = streams[heap.back()];
        emit(s);
        if (advance(s)) std::push_heap(heap.begin(), heap.end(), later);
        else heap.pop_back();
    }
}

// The states after one more layer at `position` (prefixes that die are dropped). `memory`
// gets the new level's bytes (the caller releases the levels it drops).
template <class Poll>
Level advance(const Machine& m, const Level& level, i64 position, Poll& poll, Memory& memory) {
    Level next;
    std::vector<std::vector<Contribution>> parts;
    const auto& moves = m.moves(position);
    Outer o;
    Ints grow{};
    std::size_t scratch = 0;  // bytes of `parts` and the new states' keys
    for (std::uint32_t s = 0; s < level.outer.size(); ++s) {
        if ((s & 1023u) == 1023u) {
            if (poll()) throw Cancelled();
            memory.check(scratch, position + 1);
        }
        for (const Move& mv : moves) {
            if (!m.step(level.outer[s], mv, position, o, grow)) continue;
            const auto found = next.index.try_emplace(o, static_cast<std::uint32_t>(next.outer.size()));
            if (found.second) {
                next.outer.push_back(o);
                parts.emplace_back();
                scratch += Memory::per_state;
            }
            parts[found.first->second].push_back({s, mv.weight, grow});
            scratch += Memory::per_part;
        }
    }
    memory.add(scratch, position + 1);
    next.dist.resize(next.outer.size());
    std::size_t since_poll = 0, held = 0;
    for (std::size_t t = 0; t < next.outer.size(); ++t) {
        merge(m, level, parts[t], next.dist[t], memory, position + 1);
        const std::size_t n = next.dist[t].rf.size() / static_cast<std::size_t>(m.n_axes());
        memory.add(memory.entries(n), position + 1);
        held += memory.entries(n);
        since_poll += n + 1;
        if (since_poll > (1u << 16)) {
            since_poll = 0;
            if (poll()) throw Cancelled();
        }
    }
    memory.release(scratch);
    memory.release(held);
    // Drop states whose every RF passed its bound.
    std::size_t kept = 0;
    for (std::size_t t = 0; t < next.outer.size(); ++t) {
        if (next.dist[t].rf.empty()) continue;
        if (kept != t) {
            next.outer[kept] = next.outer[t];
            next.dist[kept] = std::move(next.dist[t]);
        }
        ++kept;
    }
    if (kept != next.outer.size()) {
        next.outer.resize(kept);
        next.dist.resize(kept);
        next.index.clear();
        for (std::size_t t = 0; t < kept; ++t) next.index.emplace(next.outer[t], static_cast<std::uint32_t>(t));
    }
    memory.add(memory.level(next), position + 1);  // what the level holds from now on
    return next;
}

// Index of RF tuple `rf` in a sorted distribution, or -1.
inline std::ptrdiff_t find(const Dist& d, const i64* rf, int A) noexcept {
    const auto a_size = static_cast<std::size_t>(A);
    std::size_t lo = 0, hi = d.rf.size() / a_size;
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        const int c = compare_keys(d.rf.data() + mid * a_size, rf, A);
        if (c == 0) return static_cast<std::ptrdiff_t>(mid);
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

}  // namespace detail

// Exact counts of a space: total, feasible, and the feasible stacks per RF tuple (sorted).
struct CountResult {
    BigUint total;
    BigUint feasible;
    int n_axes = 1;
    std::vector<i64> rf;          // histogram keys: n x n_axes, sorted lexicographically
    std::vector<BigUint> counts;  // histogram counts, one per key
};

// Counts the space. poll() is called between layers (and every 1024 states); returning true
// stops the count with Cancelled.
template <class Poll>
CountResult count_space(const Space& space, Poll&& poll) {
    const Machine m(space);
    const int A = m.n_axes();
    const auto a_size = static_cast<std::size_t>(A);
    const std::size_t W = m.width();
    detail::Memory memory(m, space.max_bytes);
    Level level = detail::start_level(m);
    std::vector<i64> keys;     // feasible (RF, count) entries of every depth, unsorted
    std::vector<limb> values;  // their counts
    for (i64 depth = 1; depth <= m.depth_hi(); ++depth) {
        if (poll()) throw Cancelled();
        const std::size_t before = memory.level(level);
        Level next = detail::advance(m, level, depth - 1, poll, memory);
        memory.release(before);
        level = std::move(next);
        if (depth < m.depth_lo()) continue;
        std::size_t found = 0;
        for (std::size_t s = 0; s < level.outer.size(); ++s) {
            if (!m.outer_final(level.outer[s])) continue;
            const Dist& d = level.dist[s];
            for (std::size_t i = 0; i < d.rf.size() / a_size; ++i) {
                const i64* rf = d.rf.data() + i * a_size;
                if (!m.rf_final(rf)) continue;
                keys.insert(keys.end(), rf, rf + A);
                values.insert(values.end(), d.count.begin() + static_cast<std::ptrdiff_t>(i * W),
                              d.count.begin() + static_cast<std::ptrdiff_t>((i + 1) * W));
                ++found;
            }
        }
        memory.add(memory.entries(found), depth);
    }
    level.clear();
    const std::size_t n = keys.size() / a_size;
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
        return detail::compare_keys(keys.data() + x * a_size, keys.data() + y * a_size, A) < 0;
    });
    CountResult out;
    out.total = m.total();
    out.n_axes = A;
    std::vector<limb> sum(W, 0u), all(W, 0u);
    for (std::size_t k = 0; k < n;) {
        std::fill(sum.begin(), sum.end(), 0u);
        const i64* key = keys.data() + order[k] * a_size;
        std::size_t j = k;
        for (; j < n && detail::compare_keys(keys.data() + order[j] * a_size, key, A) == 0; ++j)
            detail::add_mul(sum.data(), values.data() + order[j] * W, 1u, W);
        detail::add_mul(all.data(), sum.data(), 1u, W);
        out.rf.insert(out.rf.end(), key, key + A);
        out.counts.push_back(BigUint::from_limbs(sum.data(), W));
        k = j;
    }
    out.feasible = BigUint::from_limbs(all.data(), W);
    return out;
}

// Completion counts of every reachable state: the number of feasible stacks extending a prefix.
// Gives the feasible count, the i-th feasible stack in choice order (unrank: the basis of exact
// uniform sampling) and the feasible stacks behind each next choice after a prefix.
class FeasibleTables {
public:
    template <class Poll>
    FeasibleTables(const Space& space, Poll&& poll) : m_(space) {
        const int A = m_.n_axes();
        const auto a_size = static_cast<std::size_t>(A);
        const std::size_t W = m_.width();
        const auto hi = static_cast<std::size_t>(m_.depth_hi());
        // Every level is kept (forward, then the tables): all of it counts against the budget.
        detail::Memory memory(m_, space.max_bytes);
        // Forward: the reachable RFs of every state, layer by layer.
        std::vector<Level> reach(hi + 1);
        reach[0] = detail::start_level(m_);
        for (std::size_t d = 1; d <= hi; ++d) {
            if (poll()) throw Cancelled();
            reach[d] = detail::advance(m_, reach[d - 1], static_cast<i64>(d - 1), poll, memory);
        }
        // Backward: tables_[d][state][rf] = feasible stacks extending a prefix of d layers there.
        tables_.resize(hi + 1);
        std::vector<limb> acc(W);
        Outer child;
        Ints grow{};
        Ints key{};
        struct Child {
            const Dist* table;
            std::uint32_t weight;
            Ints grow;
            std::size_t cursor;
        };
        std::vector<Child> children;
        for (std::size_t d = hi + 1; d-- > 0;) {
            if (poll()) throw Cancelled();
            Level& here = tables_[d];
            const Level& from = reach[d];
            for (std::size_t s = 0; s < from.outer.size(); ++s) {
                if ((s & 1023u) == 1023u && poll()) throw Cancelled();
                const Outer& o = from.outer[s];
                const bool can_stop = static_cast<i64>(d) >= m_.depth_lo() && m_.outer_final(o);
                children.clear();
                if (d < hi) {
                    const Level& after = tables_[d + 1];
                    for (const Move& mv : m_.moves(static_cast<i64>(d))) {
                        if (!m_.step(o, mv, static_cast<i64>(d), child, grow)) continue;
                        const auto found = after.index.find(child);
                        if (found != after.index.end()) children.push_back({&after.dist[found->second], mv.weight, grow, 0});
                    }
                }
                Dist table;
                const Dist& rfs = from.dist[s];
                for (std::size_t i = 0; i < rfs.rf.size() / a_size; ++i) {
                    const i64* rf = rfs.rf.data() + i * a_size;
                    std::fill(acc.begin(), acc.end(), 0u);
                    if (can_stop && m_.rf_final(rf)) acc[0] = 1;
                    for (Child& c : children) {
                        // RFs rise in this loop, so each child's shifted RFs do too: walk its table once.
                        if (!m_.shift(rf, c.grow, key.data())) continue;
                        const std::size_t n = c.table->rf.size() / a_size;
                        while (c.cursor < n && detail::compare_keys(c.table->rf.data() + c.cursor * a_size, key.data(), A) < 0)
                            ++c.cursor;
                        if (c.cursor < n && detail::compare_keys(c.table->rf.data() + c.cursor * a_size, key.data(), A) == 0)
                            detail::add_mul(acc.data(), c.table->count.data() + c.cursor * W, c.weight, W);
                    }
                    if (!detail::is_zero(acc.data(), W)) {
                        table.rf.insert(table.rf.end(), rf, rf + A);
                        table.count.insert(table.count.end(), acc.begin(), acc.end());
                    }
                }
                if (!table.rf.empty()) {
                    memory.add(detail::Memory::per_state + memory.entries(table.rf.size() / a_size), static_cast<i64>(d));
                    here.index.emplace(o, static_cast<std::uint32_t>(here.outer.size()));
                    here.outer.push_back(o);
                    here.dist.push_back(std::move(table));
                }
            }
            memory.release(memory.level(reach[d]));
            reach[d].clear();
        }
        const Outer start = m_.start();
        const Ints ones = ones_();
        const limb* f = lookup(0, start, ones.data());
        feasible_.assign(W, 0u);
        if (f != nullptr) std::copy(f, f + W, feasible_.begin());
    }

    const Machine& machine() const noexcept { return m_; }
    BigUint feasible() const { return BigUint::from_limbs(feasible_.data(), feasible_.size()); }
    i64 n_choices(i64 position) const noexcept { return m_.n_choices(position); }

    // Choice indices of the index-th feasible stack in choice order (a stack before its
    // extensions, then lexicographic on choices). std::out_of_range unless index < feasible.
    std::vector<i64> unrank(const BigUint& index) const {
        const std::size_t W = m_.width();
        if (index >= feasible()) throw std::out_of_range("unrank: index is not below the feasible count");
        std::vector<limb> idx(W, 0u);
        std::copy(index.limbs().begin(), index.limbs().end(), idx.begin());
        Outer o = m_.start();
        Ints rf = ones_();
        std::vector<i64> chosen;
        std::vector<const limb*> per_move;
        std::vector<Outer> next_outer;
        std::vector<Ints> next_rf;
        for (;;) {
            const auto depth = static_cast<i64>(chosen.size());
            if (m_.stops(depth, o, rf.data())) {  // the stack itself comes before its extensions
                if (detail::is_zero(idx.data(), W)) return chosen;
                detail::subtract_one(idx.data(), W);
            }
            if (depth >= m_.depth_hi()) throw std::logic_error("unrank walked past the counted stacks (a bug)");
            const auto& moves = m_.moves(depth);
            per_move.assign(moves.size(), nullptr);
            next_outer.resize(moves.size());
            next_rf.resize(moves.size());
            std::vector<bool> done(moves.size(), false);
            bool found = false;
            for (i64 c = 0; c < m_.n_choices(depth) && !found; ++c) {
                const auto mv = static_cast<std::size_t>(m_.move_of(depth, c));
                if (!done[mv]) {
                    done[mv] = true;
                    per_move[mv] = after(depth, o, rf, moves[mv], next_outer[mv], next_rf[mv]);
                }
                const limb* n = per_move[mv];
                if (n == nullptr) continue;
                if (detail::compare(idx.data(), n, W) < 0) {
                    chosen.push_back(c);
                    o = next_outer[mv];
                    rf = next_rf[mv];
                    found = true;
                } else {
                    detail::subtract(idx.data(), n, W);
                }
            }
            if (!found) throw std::logic_error("unrank walked past the counted stacks (a bug)");
        }
    }

    struct Completions {
        int stop = 0;                    // 1 if the prefix itself is a feasible stack
        std::vector<BigUint> per_choice;  // feasible stacks continuing with each next choice
    };

    // For a prefix (choice indices): whether it is feasible itself, and the number of feasible
    // stacks continuing with each choice of the next position (none past the maximum depth).
    // Zeros when the prefix cannot lead to a feasible stack. std::invalid_argument if the prefix
    // is longer than the maximum depth, std::out_of_range for a choice index outside its position.
    Completions completions(const std::vector<i64>& prefix) const {
        const auto hi = m_.depth_hi();
        if (static_cast<i64>(prefix.size()) > hi) throw std::invalid_argument("completions: prefix longer than the maximum depth");
        Outer o = m_.start();
        Ints rf = ones_();
        bool alive = true;
        for (std::size_t d = 0; d < prefix.size(); ++d) {
            const auto depth = static_cast<i64>(d);
            if (prefix[d] < 0 || prefix[d] >= m_.n_choices(depth))
                throw std::out_of_range("completions: choice " + std::to_string(prefix[d]) + " at position " +
                                        std::to_string(d) + " is outside [0, " + std::to_string(m_.n_choices(depth)) + ")");
            if (!alive) continue;
            const Move& mv = m_.moves(depth)[static_cast<std::size_t>(m_.move_of(depth, prefix[d]))];
            Outer next;
            Ints next_rf{};
            if (after(depth, o, rf, mv, next, next_rf) == nullptr) alive = false;
            o = next;
            rf = next_rf;
        }
        const auto depth = static_cast<i64>(prefix.size());
        const i64 width = depth < hi ? m_.n_choices(depth) : 0;
        Completions out;
        out.per_choice.resize(static_cast<std::size_t>(width));
        if (!alive) return out;
        out.stop = m_.stops(depth, o, rf.data()) ? 1 : 0;
        if (width == 0) return out;
        const auto& moves = m_.moves(depth);
        std::vector<BigUint> per_move(moves.size());
        for (std::size_t mv = 0; mv < moves.size(); ++mv) {
            Outer next;
            Ints next_rf{};
            const limb* n = after(depth, o, rf, moves[mv], next, next_rf);
            if (n != nullptr) per_move[mv] = BigUint::from_limbs(n, m_.width());
        }
        for (i64 c = 0; c < width; ++c) out.per_choice[static_cast<std::size_t>(c)] = per_move[static_cast<std::size_t>(m_.move_of(depth, c))];
        return out;
    }

private:
    Machine m_;
    std::vector<Level> tables_;
    std::vector<limb> feasible_;

    Ints ones_() const noexcept {
        Ints rf{};
        for (int a = 0; a < m_.n_axes(); ++a) rf[static_cast<std::size_t>(a)] = 1;
        return rf;
    }

    // The completion count of (state, RF) at `depth`, or nullptr for none (zero).
    const limb* lookup(i64 depth, const Outer& o, const i64* rf) const noexcept {
        const Level& level = tables_[static_cast<std::size_t>(depth)];
        const auto found = level.index.find(o);
        if (found == level.index.end()) return nullptr;
        const Dist& d = level.dist[found->second];
        const std::ptrdiff_t i = detail::find(d, rf, m_.n_axes());
        return i < 0 ? nullptr : d.count.data() + static_cast<std::size_t>(i) * m_.width();
    }

    // Completions after appending move `mv` at `depth` to a prefix in (o, rf): the count (nullptr
    // for zero), and the state it leads to in (next, next_rf).
    const limb* after(i64 depth, const Outer& o, const Ints& rf, const Move& mv, Outer& next, Ints& next_rf) const noexcept {
        Ints grow{};
        if (!m_.step(o, mv, depth, next, grow) || !m_.shift(rf.data(), grow, next_rf.data())) return nullptr;
        return lookup(depth + 1, next, next_rf.data());
    }
};

}  // namespace count
}  // namespace rfsearch
