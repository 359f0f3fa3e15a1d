// Standalone checks of the sweep engine (enumerate.hpp): no Python, warnings as errors, UBSan
// (tests/test_search_sweep_cpp.py builds and runs it). The Python differential tests compare the
// engine with the brute-force oracle; these pin hand-counted cases and the agreement of pruned,
// unpruned, split and threaded runs on a larger space.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "rfsearch/enumerate.hpp"

using namespace rfsearch;
using namespace rfsearch::sweep;

#include "check.hpp"

static Outcome run(const Plan& p, const Restriction& r, Config c, i64 min_tasks) {
    TaskList t = make_tasks<1>(p, r, c.prune, min_tasks, 1 << 20);
    return run_tasks<1>(p, r, c, t.rows.data(), t.n, t.split, [] { return false; }, {});
}

static void hand_counted() {
    // kernels 1, 2, 3; depth 1..2; RF in [3, 4]: RF = 1 + sum (k - 1).
    SpaceDef d;
    d.depth_lo = 1;
    d.depth_hi = 2;
    for (i64 k : {1, 2, 3}) {
        d.rows.push_back(LayerParams{k, 1, 1, 0, 0, false});
        d.kinds.push_back(Kind::conv);
    }
    d.first = {0, 0};
    d.count = {3, 3};
    d.objectives = {Objective::depth};
    d.rf[0] = Range{true, 3, 4};
    Plan p(d);
    Restriction r = p.restriction(1, 2, {});
    Config c;
    c.top = 10;
    c.prune = false;
    Outcome o = run(p, r, c, 1);
    CHECK(o.visited == 12 && o.feasible == 6);
    std::vector<std::vector<u32>> order = {{2}, {0, 2}, {1, 1}, {1, 2}, {2, 0}, {2, 1}};
    CHECK(o.top.size() == order.size());
    for (std::size_t i = 0; i < o.top.size() && i < order.size(); ++i) CHECK(o.top[i].choices == order[i]);
    c.prune = true;
    Outcome pruned = run(p, r, c, 1);
    CHECK(pruned.feasible == 6 && pruned.visited <= 12);
    c.counts = false;
    c.top = 2;
    Outcome best = run(p, r, c, 1);
    CHECK(best.top.size() == 2 && best.top[0].choices == order[0] && best.top[1].choices == order[1]);
}

static SpaceDef bench_like(int depth_lo, int depth_hi) {
    SpaceDef d;
    d.depth_lo = depth_lo;
    d.depth_hi = depth_hi;
    for (int kind = 0; kind < 2; ++kind)
        for (i64 k : {2, 3, 5})
            for (i64 s : {1, 2})
                for (i64 dl : {1, 2}) {
                    const i64 pad = dl * (k - 1) / 2;
                    d.rows.push_back(LayerParams{k, s, dl, pad, pad, false});
                    d.kinds.push_back(static_cast<Kind>(kind));
                }
    d.first.assign(static_cast<std::size_t>(depth_hi), 0);
    d.count.assign(static_cast<std::size_t>(depth_hi), 24);
    d.sized = true;
    d.input[0] = 224;
    d.rf[0] = Range{true, 12, 30};
    d.size[0] = Range{true, 20, 120};
    d.channels = true;
    d.channels_in = 3;
    d.widths = {8, 16, 32};
    d.objectives = {Objective::depth, Objective::rf_error};
    return d;
}

static bool same_best(const Outcome& a, const Outcome& b) {
    if (a.top.size() != b.top.size() || a.front.size() != b.front.size()) return false;
    for (std::size_t i = 0; i < a.top.size(); ++i)
        if (!vec_equal(a.top[i].vec, b.top[i].vec) || a.top[i].choices != b.top[i].choices) return false;
    for (std::size_t i = 0; i < a.front.size(); ++i)
        if (!vec_equal(a.front[i].vec, b.front[i].vec) || a.front[i].choices != b.front[i].choices) return false;
    return true;
}

static bool same(const Outcome& a, const Outcome& b) { return a.feasible == b.feasible && same_best(a, b); }

static void agreement() {
    Plan p(bench_like(2, 3));
    Restriction r = p.restriction(2, 3, {});
    Config c;
    c.top = 7;
    c.prune = false;
    Outcome base = run(p, r, c, 1);
    CHECK(base.visited == 24 + 24 * 24 + 24 * 24 * 24);  // every node
    CHECK(base.feasible > 100 && !base.front.empty());
    c.prune = true;
    for (i64 min_tasks : {1, 30, 1000}) {
        for (int threads : {1, 2, 3}) {
            c.threads = threads;
            c.counts = true;
            Outcome o = run(p, r, c, min_tasks);
            CHECK(same(o, base));
            CHECK(o.hist_counts.size() == base.hist_counts.size());
            c.counts = false;
            Outcome bounded = run(p, r, c, min_tasks);
            CHECK(same_best(bounded, base));
        }
    }
    // A restriction: position 0 fixed to choice 5.
    Restriction fixed = p.restriction(2, 3, {{5}});
    c.counts = true;
    c.threads = 1;
    Outcome f = run(p, fixed, c, 1);
    for (const Found& e : f.top) CHECK(!e.choices.empty() && e.choices[0] == 5);
    CHECK(f.feasible <= base.feasible);
}

static void errors() {
    SpaceDef d = bench_like(1, 2);
    d.first = {0};
    bool threw = false;
    try {
        Plan p(d);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    CHECK(threw);
    Plan p(bench_like(1, 2));
    threw = false;
    try {
        p.restriction(1, 3, {});
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    CHECK(threw);
    threw = false;
    try {
        p.restriction(1, 2, {{3, 3}});
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    CHECK(threw);
}

int main() {
    hand_counted();
    agreement();
    errors();
    if (failures) return 1;
    std::printf("C++ checks passed\n");
    return 0;
}
