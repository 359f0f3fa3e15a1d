// Reached offsets and blind spots of a sequential stack on one axis (header-only, no Python).
//
// An output unit sees input offset o (0 <= o < RF, from the first pixel of its RF) through some
// path iff o is a sum of one tap per layer, layer l's taps being {0, g, 2g, ..., (k-1)g} with
// g = d * J (J: the jump before the layer). The reached offsets are the sum-set of the layers'
// tap sets and lie in [0, RF - 1] with RF = 1 + sum (k - 1) g; the offsets of the RF that are not
// reached are the blind spots (the gridding problem of dilated stacks). Padding and ceil_mode do
// not matter. On several axes the reached set is the product of the per-axis sets.
//
// The set is a bitset of RF bits. A layer is k shifted copies ORed together, built by doubling
// (A_{2m} = A_m | A_m << m*g, A_{m+1} = A_m | R << m*g): O(log k) passes over RF/64 words.
// RFs above a cap (default 2^22 bits = 512 KiB) are "not computed": the caller reports that
// instead of a guess. The Python twin is rfsearch/search/reach.py (same cap, naive k copies).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace rfsearch {

inline constexpr std::int64_t reach_default_cap = std::int64_t{1} << 22;

class ReachSet {
public:
    explicit ReachSet(std::int64_t cap = reach_default_cap) : cap_(cap), words_(1, 1u) {
        if (cap < 1) throw std::invalid_argument("reach: cap must be >= 1");
    }

    // Appends a layer (its taps at the current jump), then multiplies the jump by `stride`.
    // Returns false once the RF exceeds the cap (or int64): the set is then "not computed" and
    // stays so. std::invalid_argument for a kernel, stride or dilation below 1.
    bool push(std::int64_t kernel, std::int64_t stride, std::int64_t dilation) {
        if (kernel < 1 || stride < 1 || dilation < 1)
            throw std::invalid_argument("reach: kernel, stride and dilation must be >= 1");
        if (!computed_) return false;
        if (jump_huge_) return kernel == 1 ? true : give_up();  // any tap gap would be past int64
        std::int64_t gap, grow, rf;
        if (__builtin_mul_overflow(dilation, jump_, &gap) || __builtin_mul_overflow(kernel - 1, gap, &grow) ||
            __builtin_add_overflow(rf_, grow, &rf) || rf > cap_) {
            return give_up();
        }
        if (kernel > 1) {
            words_.resize(static_cast<std::size_t>((rf + 63) / 64), 0u);
            const std::vector<std::uint64_t> base = words_;  // R: the set before this layer
            // A_m = R + {0, g, ..., (m-1) g}; walk the bits of `kernel` from the top.
            int top = 62;
            while (((kernel >> top) & 1) == 0) --top;
            std::int64_t m = 1;
            for (int b = top - 1; b >= 0; --b) {
                or_shifted(words_, m * gap);  // A_2m
                m *= 2;
                if ((kernel >> b) & 1) {
                    or_shifted_from(base, m * gap);  // A_{m+1}
                    m += 1;
                }
            }
        }
        rf_ = rf;
        // A jump past int64 is no error yet: only a later layer with kernel > 1 would use it.
        std::int64_t next;
        if (__builtin_mul_overflow(jump_, stride, &next)) jump_huge_ = true;
        else jump_ = next;
        return true;
    }

    bool computed() const noexcept { return computed_; }
    std::int64_t rf() const noexcept { return rf_; }
    // The jump after the layers pushed so far; -1 once it is past int64.
    std::int64_t jump() const noexcept { return jump_huge_ ? -1 : jump_; }

    // Reached offsets (meaningful when computed()).
    std::int64_t reached() const noexcept {
        std::int64_t n = 0;
        for (std::uint64_t w : words_) n += __builtin_popcountll(w);
        return n;
    }
    // RF minus reached offsets; -1 when not computed.
    std::int64_t blind_spots() const noexcept { return computed_ ? rf_ - reached() : -1; }

    bool test(std::int64_t offset) const noexcept {
        if (!computed_ || offset < 0 || offset >= rf_) return false;
        return ((words_[static_cast<std::size_t>(offset / 64)] >> (offset % 64)) & 1u) != 0;
    }

private:
    std::int64_t cap_;
    std::vector<std::uint64_t> words_;
    std::int64_t rf_ = 1;
    std::int64_t jump_ = 1;
    bool computed_ = true;
    bool jump_huge_ = false;

    bool give_up() {
        computed_ = false;
        words_.clear();
        words_.shrink_to_fit();
        return false;
    }

    // words_ |= src << shift, bits past words_'s size dropped (they lie beyond the RF). Walks
    // from the top word down, so src may be words_ itself: each step reads only words at or
    // below the one it writes, before they change.
    void or_shifted_impl(const std::vector<std::uint64_t>& src, std::int64_t shift) {
        const std::size_t n = words_.size();
        const std::size_t ws = static_cast<std::size_t>(shift / 64);
        const unsigned bs = static_cast<unsigned>(shift % 64);
        if (ws >= n) return;
        for (std::size_t i = n; i-- > ws;) {
            const std::size_t j = i - ws;
            std::uint64_t v = j < src.size() ? src[j] << bs : 0u;
            if (bs != 0 && j >= 1 && j - 1 < src.size()) v |= src[j - 1] >> (64u - bs);
            words_[i] |= v;
        }
    }
    void or_shifted(const std::vector<std::uint64_t>& self, std::int64_t shift) { or_shifted_impl(self, shift); }
    void or_shifted_from(const std::vector<std::uint64_t>& base, std::int64_t shift) { or_shifted_impl(base, shift); }
};

struct ReachResult {
    bool computed;            // false: RF above the cap, nothing else is meaningful
    std::int64_t rf;
    std::int64_t reached;
    std::int64_t blind_spots;  // rf - reached
};

// Reached offsets of `n` layers on one axis (per-layer kernel, stride, dilation).
inline ReachResult axis_reach(const std::int64_t* kernel, const std::int64_t* stride, const std::int64_t* dilation,
                              std::size_t n, std::int64_t cap = reach_default_cap) {
    ReachSet set(cap);
    for (std::size_t i = 0; i < n; ++i)
        if (!set.push(kernel[i], stride[i], dilation[i])) return {false, 0, 0, -1};
    return {true, set.rf(), set.reached(), set.blind_spots()};
}

}  // namespace rfsearch
