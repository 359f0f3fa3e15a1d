// reach.hpp compiled and checked alone: reached offsets against every path, enumerated.
#include <cstdint>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <vector>

#include "rfsearch/reach.hpp"

using rfsearch::axis_reach;
using rfsearch::ReachSet;

#include "check.hpp"

struct Layer {
    std::int64_t kernel, stride, dilation;
};

// Every path: one tap per layer, offset = sum of tap * dilation * jump.
static std::set<std::int64_t> brute(const std::vector<Layer>& layers) {
    std::set<std::int64_t> offsets{0};
    std::int64_t jump = 1;
    for (const Layer& l : layers) {
        std::set<std::int64_t> next;
        for (std::int64_t o : offsets)
            for (std::int64_t t = 0; t < l.kernel; ++t) next.insert(o + t * l.dilation * jump);
        offsets.swap(next);
        jump *= l.stride;
    }
    return offsets;
}

static std::int64_t rf_of(const std::vector<Layer>& layers) {
    std::int64_t rf = 1, jump = 1;
    for (const Layer& l : layers) {
        rf += (l.kernel - 1) * l.dilation * jump;
        jump *= l.stride;
    }
    return rf;
}

// One set reused for every stack (reset keeps its buffers), as the batch paths use it.
static ReachSet shared_set;

static bool agrees(const std::vector<Layer>& layers) {
    ReachSet& set = shared_set;
    set.reset();
    for (const Layer& l : layers) set.push(l.kernel, l.stride, l.dilation);
    const auto offsets = brute(layers);
    const std::int64_t rf = rf_of(layers);
    bool ok = set.computed() && set.rf() == rf && set.reached() == static_cast<std::int64_t>(offsets.size()) &&
              set.blind_spots() == rf - static_cast<std::int64_t>(offsets.size());
    for (std::int64_t o = -1; o <= rf && ok; ++o) ok = set.test(o) == (offsets.count(o) == 1);
    return ok;
}

struct Lcg {
    std::uint64_t state;
    std::int64_t below(std::int64_t n) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::int64_t>((state >> 33) % static_cast<std::uint64_t>(n));
    }
};

int main() {
    // Known cases.
    {
        ReachSet s;  // no layer: one offset, reached
        CHECK(s.rf() == 1 && s.reached() == 1 && s.blind_spots() == 0);
    }
    {
        ReachSet s;  // gridding: two 3-tap layers at dilation 2 reach only even offsets of 9
        s.push(3, 1, 2);
        s.push(3, 1, 2);
        CHECK(s.rf() == 9 && s.reached() == 5 && s.blind_spots() == 4);
        CHECK(s.test(0) && !s.test(1) && s.test(8) && !s.test(7));
    }
    {
        ReachSet s;  // a later dense layer repairs the holes: {0, 2} + {0, 1}
        s.push(2, 1, 2);
        CHECK(s.blind_spots() == 1);
        s.push(2, 1, 1);
        CHECK(s.rf() == 4 && s.blind_spots() == 0);
    }
    {
        ReachSet s;  // WaveNet/TCN: kernel 2, dilations 1, 2, 4, ..., 512: full coverage of 1024
        for (std::int64_t d = 1; d <= 512; d *= 2) s.push(2, 1, d);
        CHECK(s.rf() == 1024 && s.blind_spots() == 0);
    }
    {
        ReachSet s;  // kernel 2, dilations 1, 1, 4: {0, 1, 2} + {0, 4} misses 3
        s.push(2, 1, 1);
        s.push(2, 1, 1);
        s.push(2, 1, 4);
        CHECK(s.rf() == 7 && s.blind_spots() == 1 && !s.test(3));
    }
    {
        ReachSet s;  // strides: a 2-tap layer after stride 3 has gap 3
        s.push(2, 3, 1);
        s.push(2, 1, 1);
        CHECK(s.rf() == 5 && s.reached() == 4 && !s.test(2));
    }
    {
        // Cap: exactly at the cap is computed, one above is not (and stays not computed).
        ReachSet at(100);
        CHECK(at.push(100, 1, 1) && at.computed() && at.rf() == 100 && at.blind_spots() == 0);
        ReachSet over(100);
        CHECK(!over.push(101, 1, 1) && !over.computed() && over.blind_spots() == -1);
        CHECK(!over.push(1, 1, 1) && !over.computed());
        const std::int64_t k[] = {3, 3}, s[] = {1, 1}, d[] = {1, 60};
        const auto r = axis_reach(k, s, d, 2, 100);
        CHECK(!r.computed && r.blind_spots == -1);
        const auto r2 = axis_reach(k, s, d, 2);
        CHECK(r2.computed && r2.rf == 123 && r2.reached == 9 && r2.blind_spots == 114);
    }
    {
        // A jump past int64 only matters to a later layer with kernel > 1.
        ReachSet s;
        for (int i = 0; i < 64; ++i) CHECK(s.push(1, 2, 1));
        CHECK(s.computed() && s.rf() == 1 && s.jump() == -1);
        CHECK(!s.push(2, 1, 1) && !s.computed());
    }
    {
        // The whole-interval shortcut: a dense prefix stays whole while tap gaps are at most the RF;
        // a gap past it makes holes (stored as bits), and a later dense layer makes it whole again.
        ReachSet s;
        for (int i = 0; i < 100000; ++i) s.push(3, 1, 1);
        CHECK(s.full() && s.rf() == 200001 && s.blind_spots() == 0);
        ReachSet g;
        g.push(2, 1, 1);
        g.push(2, 1, 3);  // {0, 1} + {0, 3}: 2 is missed
        CHECK(!g.full() && g.rf() == 5 && g.blind_spots() == 1 && !g.test(2) && g.test(4));
        g.push(2, 1, 2);  // + {0, 2}: 0..6 all reached
        CHECK(g.full() && g.rf() == 7 && g.blind_spots() == 0 && g.test(6) && !g.test(7));
        g.reset();
        CHECK(g.full() && g.rf() == 1 && g.blind_spots() == 0 && g.computed());
    }
    {
        bool threw = false;
        try {
            ReachSet s;
            s.push(0, 1, 1);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
    }

    // Random stacks against every path: small ones, and wider ones that cross word boundaries.
    Lcg rng{2024};
    int checked = 0;
    for (int round = 0; round < 3000; ++round) {
        const bool wide = round % 3 == 0;
        std::vector<Layer> layers;
        const std::int64_t depth = 1 + rng.below(wide ? 4 : 5);
        std::int64_t paths = 1;
        for (std::int64_t i = 0; i < depth; ++i) {
            Layer l{1 + rng.below(wide ? 9 : 4), 1 + rng.below(3), 1 + rng.below(wide ? 40 : 3)};
            paths *= l.kernel;
            layers.push_back(l);
        }
        if (paths > 20000) continue;
        ++checked;
        if (!agrees(layers)) {
            std::fprintf(stderr, "disagree on round %d\n", round);
            ++failures;
        }
    }
    CHECK(checked > 2000);

    if (failures) {
        std::fprintf(stderr, "%d reach check(s) failed\n", failures);
        return 1;
    }
    std::printf("reach C++ checks passed (%d random stacks)\n", checked);
    return 0;
}
