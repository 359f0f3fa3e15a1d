// count.hpp compiled and checked alone: counts against enumeration of every stack (the fold of
// fold.hpp, no DP), unrank as a bijection in choice order, the 11^40 MS-TCN space, cancellation.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "rfsearch/count.hpp"

using rfsearch::BigUint;
using rfsearch::i64;
using rfsearch::LayerParams;
namespace count = rfsearch::count;

#include "check.hpp"

static bool never() { return false; }

static count::Choice conv(i64 k, i64 s = 1, i64 d = 1, i64 p = 0) {
    count::Choice c;
    c.axes[0] = LayerParams{k, s, d, p, p, false};
    return c;
}

// Every stack of the space, in choice order (a stack before its extensions), with its fold.
struct Brute {
    const count::Space& s;
    std::vector<std::vector<i64>> feasible;
    std::map<i64, i64> histogram;
    i64 total = 0;

    void walk(std::vector<i64>& prefix, rfsearch::AxisState<i64> st, i64 down) {
        const auto depth = static_cast<i64>(prefix.size());
        if (depth >= s.depth_lo) {
            ++total;
            bool ok = (!s.rf[0].given || (st.rf >= s.rf[0].lo && st.rf <= s.rf[0].hi)) &&
                      (!s.jump[0].given || (st.jump >= s.jump[0].lo && st.jump <= s.jump[0].hi)) &&
                      (!s.size[0].given || (st.size >= s.size[0].lo && st.size <= s.size[0].hi));
            if (ok) {
                feasible.push_back(prefix);
                ++histogram[st.rf];
            }
        }
        if (depth == s.depth_hi) return;
        const auto& list = s.positions[std::min<std::size_t>(prefix.size(), s.positions.size() - 1)];
        for (std::size_t c = 0; c < list.size(); ++c) {
            prefix.push_back(static_cast<i64>(c));
            rfsearch::AxisState<i64> next;
            const bool down_layer = list[c].axes[0].stride > 1;
            const auto status = rfsearch::fold_layer(st, list[c].axes[0], s.sized, next);
            if (status == rfsearch::Status::ok && list[c].allowed && (s.max_down < 0 || down + down_layer <= s.max_down)) {
                walk(prefix, next, down + (down_layer ? 1 : 0));
            } else {  // dead: count its extensions in the total only
                count_dead(prefix);
            }
            prefix.pop_back();
        }
    }
    void count_dead(std::vector<i64>& prefix) {
        const auto depth = static_cast<i64>(prefix.size());
        if (depth >= s.depth_lo) ++total;
        if (depth == s.depth_hi) return;
        const auto& list = s.positions[std::min<std::size_t>(prefix.size(), s.positions.size() - 1)];
        for (std::size_t c = 0; c < list.size(); ++c) {
            prefix.push_back(static_cast<i64>(c));
            count_dead(prefix);
            prefix.pop_back();
        }
    }
    void run() {
        std::vector<i64> prefix;
        rfsearch::AxisState<i64> st;
        st.size = s.sized ? s.input_size[0] : 0;
        walk(prefix, st, 0);
    }
};

static void agree(const count::Space& space, const char* name) {
    Brute brute{space, {}, {}, 0};
    brute.run();
    const auto r = count::count_space(space, never);
    bool ok = r.total == BigUint(static_cast<std::uint64_t>(brute.total)) &&
              r.feasible == BigUint(static_cast<std::uint64_t>(brute.feasible.size())) &&
              r.counts.size() == brute.histogram.size();
    std::size_t i = 0;
    for (const auto& [rf, n] : brute.histogram) {
        ok = ok && i < r.counts.size() && r.rf[i] == rf && r.counts[i] == BigUint(static_cast<std::uint64_t>(n));
        ++i;
    }
    const count::FeasibleTables tables(space, never);
    ok = ok && tables.feasible() == r.feasible;
    for (std::size_t k = 0; k < brute.feasible.size() && ok; ++k) ok = tables.unrank(BigUint(k)) == brute.feasible[k];
    if (!ok) {
        std::fprintf(stderr, "space %s: counts or unrank disagree with enumeration\n", name);
        ++failures;
    }
}

int main() {
    {
        // conv k in {1, 3}, depth 1..2, RF target 3: stacks [3], [1,3], [3,1] -> 3 of 2 + 4 = 6.
        count::Space s;
        s.depth_lo = 1;
        s.depth_hi = 2;
        s.rf[0] = {true, 3, 3};
        s.positions = {{conv(1), conv(3)}};
        const auto r = count::count_space(s, never);
        CHECK(r.total == BigUint(6) && r.feasible == BigUint(3) && r.rf.size() == 1 && r.rf[0] == 3);
        const count::FeasibleTables t(s, never);
        CHECK(t.unrank(BigUint(0)) == (std::vector<i64>{0, 1}));
        CHECK(t.unrank(BigUint(1)) == (std::vector<i64>{1}));
        CHECK(t.unrank(BigUint(2)) == (std::vector<i64>{1, 0}));
        bool threw = false;
        try {
            t.unrank(BigUint(3));
        } catch (const std::out_of_range&) {
            threw = true;
        }
        CHECK(threw);
        const auto c = t.completions({});
        CHECK(c.stop == 0 && c.per_choice.size() == 2 && c.per_choice[0] == BigUint(1) && c.per_choice[1] == BigUint(2));
        const auto c1 = t.completions({1});
        CHECK(c1.stop == 1 && c1.per_choice[0] == BigUint(1) && c1.per_choice[1].is_zero());
        CHECK(t.completions({1, 1}).per_choice.empty());
    }
    {
        // Strides, sizes, padding that grows the size back, rules: against enumeration.
        count::Space s;
        s.depth_lo = 1;
        s.depth_hi = 4;
        s.sized = true;
        s.input_size[0] = 12;
        s.size[0] = {true, 3, 9};
        s.max_down = 1;
        auto pool = conv(2, 2);
        pool.allowed = true;
        auto strided = conv(3, 2, 1, 1);
        strided.allowed = false;  // stride_on forbids it
        s.positions = {{conv(3, 1, 1, 1), conv(3), pool, strided, conv(1, 1, 1, 2)}, {conv(3), conv(1), conv(5, 1, 2, 3)}};
        agree(s, "sized");
        s.jump[0] = {true, 2, 2};
        agree(s, "exact jump");
        s.rf[0] = {true, 5, 11};
        s.rf_within_input = true;
        agree(s, "rf target");
    }
    {
        // The MS-TCN dilation space: 11^40 candidates, every one feasible without targets.
        count::Space s;
        s.depth_lo = s.depth_hi = 40;
        std::vector<count::Choice> dilations;
        for (i64 d = 1; d <= 1024; d *= 2) dilations.push_back(conv(3, 1, d, d));
        s.positions = {dilations};
        BigUint p11_40(1);
        for (int i = 0; i < 40; ++i) p11_40.mul_small(11);
        s.rf[0] = {true, 6000, 10000};
        const auto r = count::count_space(s, never);
        CHECK(r.total == p11_40);
        CHECK(r.feasible.to_string() == "41624959228865193364216285254362596833645");  // Python's independent count
        CHECK(r.feasible.bit_length() > 128);
        const count::FeasibleTables t(s, never);
        CHECK(t.feasible() == r.feasible);
        const auto first = t.unrank(BigUint(0)), last = t.unrank(r.feasible - BigUint(1));
        CHECK(first.size() == 40 && last.size() == 40 && first < last);
        // Unrank then completions: the path of the i-th stack has the counts that put it there.
        const auto mid = t.unrank(BigUint::from_string("20000000000000000000000000000000000000000"));
        i64 rf = 1;
        for (i64 c : mid) rf += 2 * (i64{1} << c);
        CHECK(rf >= 6000 && rf <= 10000);
    }
    {
        // Cancellation: poll() returning true stops the count.
        count::Space s;
        s.depth_lo = s.depth_hi = 3;
        s.positions = {{conv(1), conv(3)}};
        bool threw = false;
        try {
            count::count_space(s, [] { return true; });
        } catch (const count::Cancelled&) {
            threw = true;
        }
        CHECK(threw);
    }
    {
        // A memory budget: past it, TooLarge (no result), for the count and for the tables.
        count::Space s;
        s.depth_lo = s.depth_hi = 12;
        s.positions = {{conv(1), conv(2), conv(3, 1, 2), conv(5, 1, 3), conv(2, 1, 7), conv(3, 1, 11)}};
        s.max_bytes = 1u << 12;
        int refused = 0;
        try {
            count::count_space(s, never);
        } catch (const count::TooLarge&) {
            ++refused;
        }
        try {
            count::FeasibleTables t(s, never);
        } catch (const count::TooLarge&) {
            ++refused;
        }
        CHECK(refused == 2);
        s.max_bytes = 0;  // no limit: counted
        CHECK(count::count_space(s, never).total == BigUint(2176782336u));  // 6^12
    }
    {
        // Invalid spaces are refused.
        count::Space s;
        s.positions = {{conv(0)}};
        bool threw = false;
        try {
            count::count_space(s, never);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
    }
    if (failures) {
        std::fprintf(stderr, "%d count check(s) failed\n", failures);
        return 1;
    }
    std::printf("count C++ checks passed\n");
    return 0;
}
