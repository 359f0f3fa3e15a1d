// erf.hpp alone: compiled with -Wall -Wextra -Wconversion -Werror by tests/test_erf.py (slow).
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "rfsearch/erf.hpp"

using rfsearch::i64;
namespace rerf = rfsearch::erf;

#include "check.hpp"

int main() {
    // conv3, maxpool2, conv3, maxpool2: 1 2 4 5 6 6 5 4 2 1
    const i64 k[] = {3, 2, 3, 2}, s[] = {1, 2, 1, 2}, d[] = {1, 1, 1, 1};
    const auto chain = rerf::chain_erf<i64>(k, s, d, 4);
    const std::vector<i64> expected{1, 2, 4, 5, 6, 6, 5, 4, 2, 1};
    CHECK(chain == expected);

    // 3^45 paths overflow int64: detected, and double counts instead.
    std::vector<i64> k45(45, 3), s45(45, 1), d45(45, 1);
    bool overflowed = false;
    try {
        rerf::chain_erf<i64>(k45.data(), s45.data(), d45.data(), 45);
    } catch (const std::overflow_error&) {
        overflowed = true;
    }
    CHECK(overflowed);
    const auto reals = rerf::chain_erf<double>(k45.data(), s45.data(), d45.data(), 45);
    CHECK(reals.size() == 91 && reals[0] == 1.0);

    // A residual block on one axis: conv3 (padding 1) + identity, borders off and on.
    rerf::Problem pb;
    pb.nodes = 3;  // input, conv, add
    pb.ndim = 1;
    pb.size = {5, 5, 5};
    rerf::AxisWindow conv;
    conv.first = {-1};
    conv.step = {1};
    conv.count = {3};
    rerf::AxisWindow identity;
    pb.edges = {{1, 0, {conv}}, {2, 1, {identity}}, {2, 0, {identity}}};
    pb.target = 2;
    pb.unit = {0};
    auto free = rerf::graph_erf<i64>(pb);
    CHECK(free.box.lo[0] == -1 && free.box.hi[0] == 1);
    CHECK((free.counts == std::vector<i64>{1, 2, 1}));
    pb.borders = true;
    auto cut = rerf::graph_erf<i64>(pb);
    CHECK(cut.box.lo[0] == 0 && (cut.counts == std::vector<i64>{2, 1}));

    // Malformed problems are refused.
    pb.edges.push_back({1, 2, {identity}});
    bool refused = false;
    try {
        rerf::graph_erf<i64>(pb);
    } catch (const std::invalid_argument&) {
        refused = true;
    }
    CHECK(refused);
    if (failures) {
        std::fprintf(stderr, "%d erf check(s) failed\n", failures);
        return 1;
    }
    std::puts("erf C++ checks passed");
    return 0;
}
