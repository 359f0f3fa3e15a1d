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
// While the set is a whole interval [0, RF - 1] ("full": every offset reached) it is not stored:
// a layer whose tap gap g is at most the current RF keeps it full (the k shifted copies of an
// interval of RF offsets, g apart, overlap or touch), so ordinary stacks cost O(1) per layer,
// whatever their RF. RFs above a cap (default 2^22 bits = 512 KiB) are "not computed": the caller
// reports that instead of a guess. The Python twin is rfsearch/core/reach.py (same cap, same
// shortcut, naive k copies otherwise).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "checked.hpp"

namespace rfsearch {

inline constexpr std::int64_t reach_default_cap = std::int64_t{1} << 22;

namespace detail {
// Set bits of a word (portable; compilers turn it into popcnt where they can).
inline std::int64_t popcount64(std::uint64_t v) noexcept {
    v = v - ((v >> 1) & 0x5555555555555555ULL);
    v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
    v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return static_cast<std::int64_t>((v * 0x0101010101010101ULL) >> 56);
}
}  // namespace detail

class ReachSet {
public:
    explicit ReachSet(std::int64_t cap = reach_default_cap) : cap_(cap) {
        if (cap < 1) throw std::invalid_argument("reach: cap must be >= 1");
    }

    // Back to the empty stack (one offset, reached), keeping the buffers (no allocation when a
    // batch reuses one set for many stacks).
    void reset() noexcept {
        rf_ = 1;
        jump_ = 1;
        computed_ = true;
        jump_huge_ = false;
        full_ = true;
        words_.clear();
    }

    // Appends a layer (its taps at the current jump), then multiplies the jump by `stride`.
    // Returns false once the RF exceeds the cap (or int64): the set is then "not computed" and
    // stays so. std::invalid_argument for a kernel, stride or dilation below 1.
    bool push(std::int64_t kernel, std::int64_t stride, std::int64_t dilation) {
        if (kernel < 1 || stride < 1 || dilation < 1)
            throw std::invalid_argument("reach: kernel, stride and dilation must be >= 1");
        if (!computed_) return false;
        if (kernel > 1) {
            if (jump_huge_) return give_up();  // any tap gap would be past int64
            std::int64_t gap, grow, rf;
            if (checked::mul(dilation, jump_, gap) || checked::mul(kernel - 1, gap, grow) ||
                checked::add(rf_, grow, rf) || rf > cap_) {
                return give_up();
            }
            if (!(full_ && gap <= rf_)) spread(kernel, gap, rf);
            rf_ = rf;
        }
        // A jump past int64 is no error yet: only a later layer with kernel > 1 would use it.
        std::int64_t next;
        if (jump_huge_ || checked::mul(jump_, stride, next)) jump_huge_ = true;
        else jump_ = next;
        return true;
    }

    bool computed() const noexcept { return computed_; }
    std::int64_t rf() const noexcept { return rf_; }
    // The jump after the layers pushed so far; -1 once it is past int64.
    std::int64_t jump() const noexcept { return jump_huge_ ? -1 : jump_; }
    // Whether every offset of the RF is reached (meaningful when computed()).
    bool full() const noexcept { return full_; }

    // Reached offsets (meaningful when computed()).
    std::int64_t reached() const noexcept {
        if (full_) return rf_;
        std::int64_t n = 0;
        for (std::uint64_t w : words_) n += detail::popcount64(w);
        return n;
    }
    // RF minus reached offsets; -1 when not computed.
    std::int64_t blind_spots() const noexcept { return computed_ ? rf_ - reached() : -1; }

    bool test(std::int64_t offset) const noexcept {
        if (!computed_ || offset < 0 || offset >= rf_) return false;
        if (full_) return true;
        return ((words_[static_cast<std::size_t>(offset / 64)] >> (offset % 64)) & 1u) != 0;
    }

private:
    std::int64_t cap_;
    std::vector<std::uint64_t> words_;  // the set when !full_ (bit o: offset o reached)
    std::vector<std::uint64_t> base_;   // scratch: the set before the layer being pushed
    std::int64_t rf_ = 1;
    std::int64_t jump_ = 1;
    bool computed_ = true;
    bool jump_huge_ = false;
    bool full_ = true;

    bool give_up() {
        computed_ = false;
        words_.clear();
        return false;
    }

    // The set becomes R + {0, gap, ..., (kernel-1) gap} with RF `rf` (kernel > 1).
    void spread(std::int64_t kernel, std::int64_t gap, std::int64_t rf) {
        const auto n_words = static_cast<std::size_t>((rf + 63) / 64);
        if (full_) {  // materialise [0, rf_ - 1]
            words_.assign(static_cast<std::size_t>((rf_ + 63) / 64), ~std::uint64_t{0});
            if (rf_ % 64 != 0) words_.back() = (std::uint64_t{1} << (rf_ % 64)) - 1u;
            full_ = false;
        }
        words_.resize(n_words, 0u);
        base_.assign(words_.begin(), words_.end());  // R: the set before this layer
        // A_m = R + {0, g, ..., (m-1) g}; walk the bits of `kernel` from the top.
        int top = 62;
        while (((kernel >> top) & 1) == 0) --top;
        std::int64_t m = 1;
        for (int b = top - 1; b >= 0; --b) {
            or_shifted(words_, m * gap);  // A_2m (m * gap <= (kernel - 1) * gap: no overflow)
            m *= 2;
            if ((kernel >> b) & 1) {
                or_shifted(base_, m * gap);  // A_{m+1}
                m += 1;
            }
        }
        // Whole again (a later dense layer repaired the holes): back to the O(1) shortcut.
        std::int64_t count = 0;
        for (std::uint64_t w : words_) count += detail::popcount64(w);
        if (count == rf) {
            full_ = true;
            words_.clear();
        }
    }

    // words_ |= src << shift, bits past words_'s size dropped (they lie beyond the RF). Walks
    // from the top word down, so src may be words_ itself: each step reads only words at or
    // below the one it writes, before they change.
    void or_shifted(const std::vector<std::uint64_t>& src, std::int64_t shift) noexcept {
        const std::size_t n = words_.size();
        const auto ws = static_cast<std::size_t>(shift / 64);
        const auto bs = static_cast<unsigned>(shift % 64);
        if (ws >= n) return;
        for (std::size_t i = n; i-- > ws;) {
            const std::size_t j = i - ws;
            std::uint64_t v = j < src.size() ? src[j] << bs : 0u;
            if (bs != 0 && j >= 1 && j - 1 < src.size()) v |= src[j - 1] >> (64u - bs);
            words_[i] |= v;
        }
    }
};

struct ReachResult {
    bool computed;  // false: RF above the cap, nothing else is meaningful
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
