// The graph evaluator and the checked rationals compiled and checked alone: no Python, no
// pybind11 (tests/test_graph_cpp.py builds and runs it; tests/test_graph_core.py checks the
// evaluator against the Python reference through the binding).
#include <cstdio>
#include <vector>

#include "rfsearch/graph.hpp"
#include "rfsearch/rational.hpp"

using namespace rfsearch;

#include "check.hpp"

void check_rationals() {
    Rational r;
    CHECK(!rational::make(6, -4, r) && r == (Rational{-3, 2}));
    CHECK(!rational::make(0, 7, r) && r == (Rational{0, 1}));
    CHECK(rational::make(1, 0, r) && rational::make(checked::min, 1, r));
    Rational sum;
    CHECK(!rational::add({1, 2}, {1, 3}, sum) && sum == (Rational{5, 6}));
    CHECK(!rational::sub({1, 2}, {1, 2}, sum) && sum == (Rational{0, 1}));
    CHECK(!rational::mul_int({3, 4}, 6, sum) && sum == (Rational{9, 2}));
    CHECK(!rational::div_int({3, 4}, 6, sum) && sum == (Rational{1, 8}));
    CHECK(rational::add({checked::max, 1}, {1, 1}, sum));             // overflow reported
    CHECK(!rational::mul_int({checked::max / 2, 3}, 2 * 3, sum) && sum == (Rational{checked::max / 2 * 2, 1}));  // reduced first
    CHECK(rational::mul_int({checked::max, 1}, 2, sum));
    CHECK(!rational::add({1, checked::max}, {1, checked::max}, sum) && sum == (Rational{2, checked::max}));
    CHECK(rational::add({1, checked::max}, {1, checked::max - 1}, sum));  // the common denominator overflows
}

// The fold over rationals is the sequential engine's recursion with fractions: its rf after an
// upsampling is the mean extent over units, not the max or min the graph evaluator reports.
void check_rational_fold_is_a_mean() {
    AxisState<Rational> s;  // after a nearest x2 upsampling: jump 1/2, unit extents 1, centre line -1/4
    s.jump = {1, 2};
    s.padding = {1, 4};  // centre line = (rf - 1)/2 - padding
    AxisState<Rational> out;
    CHECK(fold_layer(s, LayerParams{1, 2, 1, 0, 0, false}, false, out) == Status::ok);  // a 1x1 stride-2 conv
    // Unit v of the conv reads upsampled unit 2v = input v: extent 1, centre line 0. The fold keeps -1/4.
    Rational line;
    CHECK(!rational::sub({0, 1}, out.padding, line) && line == (Rational{-1, 4}) && out.rf == (Rational{1, 1}));
}

struct Net {
    std::vector<std::uint8_t> op;
    std::vector<i64> offsets{0}, inputs, like;
    void node(graph::Op kind, std::vector<i64> from, i64 like_node = -1) {
        op.push_back(static_cast<std::uint8_t>(kind));
        for (i64 i : from) inputs.push_back(i);
        offsets.push_back(static_cast<i64>(inputs.size()));
        like.push_back(like_node);
    }
    graph::Topology topology() const {
        return {static_cast<i64>(op.size()), op.data(), offsets.data(), inputs.data(), like.data()};
    }
};

struct Out {
    std::vector<i64> rf, rf_min, jn, jd, start, c2, size, period, at;
    std::vector<std::uint8_t> flags, status;
    Out(i64 n, i64 v, i64 a)
        : rf(static_cast<std::size_t>(n * v * a)), rf_min(rf), jn(rf), jd(rf), start(rf), c2(rf), size(rf),
          period(rf), at(static_cast<std::size_t>(n)), flags(rf.size()), status(at.size()) {}
    graph::Results results() {
        return {rf.data(), rf_min.data(), jn.data(), jd.data(), start.data(), c2.data(), size.data(), period.data(),
                flags.data(), status.data(), at.data()};
    }
};

// A residual block and a transposed conv on one axis, two parameter sets.
void check_graph() {
    // 0: stem conv3p1, 1: conv3s2p1, 2: conv_t k2 s2, 3: add(0, 2), 4: global
    Net net;
    net.node(graph::Op::layer, {-1});
    net.node(graph::Op::layer, {0});
    net.node(graph::Op::conv_transpose, {1});
    net.node(graph::Op::add, {0, 2});
    net.node(graph::Op::global, {3});
    const graph::Topology topo = net.topology();
    // rows: 0 conv3p1, 1 conv3s2p1, 2 conv_t k2 s2, 3 global, 4 conv5s2p2
    std::vector<i64> params(5 * graph::row_fields, 0);
    const i64 rows[5][6] = {{3, 1, 1, 1, 1, 0}, {3, 2, 1, 1, 1, 0}, {2, 2, 1, 0, 0, 0}, {0, 0, 0, 0, 0, 0}, {5, 2, 1, 2, 2, 0}};
    for (int t = 0; t < 5; ++t)
        for (int f = 0; f < 6; ++f) params[static_cast<std::size_t>(t * graph::row_fields + f)] = rows[t][f];
    const std::uint8_t table_op[5] = {0, 0, 1, 7, 0};
    const graph::Table table{5, 1, table_op, params.data()};
    const i64 ids[2][5] = {{0, 1, 2, 0, 3}, {0, 4, 2, 0, 3}};
    const graph::Ids<i64> view{reinterpret_cast<const char*>(ids), 5 * sizeof(i64), sizeof(i64)};
    const i64 size = 64;
    Out out(2, 5, 1);
    const bool done = graph::evaluate_sets(topo, table, view, 2, &size, out.results(), 2, [] { return false; });
    CHECK(done && out.status[0] == 0 && out.status[1] == 0 && out.at[0] == -1);
    // Set 0: the up path's units 2j, 2j+1 both see [2j-2, 2j+2]: rf 5, jump 1, period 2; the add
    // keeps the stem's rf 3 as rf_min and is misaligned (the up path's centre line is -1/2).
    CHECK(out.rf[2] == 5 && out.jn[2] == 1 && out.jd[2] == 1 && out.period[2] == 2 && out.size[2] == 64);
    CHECK(out.rf[3] == 5 && out.rf_min[3] == 3 && (out.flags[3] & graph::flag::misaligned));
    CHECK(out.start[3] == -2 && out.c2[3] == 0);  // unit 0 of the max-RF class: [-2, 2]
    CHECK((out.flags[4] & graph::flag::whole_input) && out.rf[4] == 64 && out.c2[4] == 63);
    // Set 1: conv5s2p2 then conv_t: rf 7.
    CHECK(out.rf[5 + 2] == 7 && out.rf_min[5 + 3] == 3 && out.start[5 + 3] == -3);
    // A row of the wrong op is refused per set, naming the node.
    const i64 bad[1][5] = {{0, 2, 2, 0, 3}};
    const graph::Ids<i64> bad_view{reinterpret_cast<const char*>(bad), 5 * sizeof(i64), sizeof(i64)};
    Out out2(1, 5, 1);
    graph::evaluate_sets(topo, table, bad_view, 1, &size, out2.results(), 1, [] { return false; });
    CHECK(out2.status[0] == static_cast<std::uint8_t>(graph::GraphStatus::bad_row) && out2.at[0] == 1);
    // Without an input size the global node's rf is unknown.
    Out out3(2, 5, 1);
    graph::evaluate_sets(topo, table, view, 2, nullptr, out3.results(), 1, [] { return false; });
    CHECK(out3.status[0] == 0 && !(out3.flags[4] & graph::flag::has_rf) && out3.rf[3] == 5);
}

// Blind spots and extents (Results' optional values): a dilated pair of convs leaves holes that a
// dense parallel path fills at the add; a transposed conv makes the set not simple.
void check_blind_spots() {
    // 0: conv k2, 1: conv k2 d4 (of 0), 2: conv k6 (of input), 3: add(1, 2)
    Net net;
    net.node(graph::Op::layer, {-1});
    net.node(graph::Op::layer, {0});
    net.node(graph::Op::layer, {-1});
    net.node(graph::Op::add, {1, 2});
    std::vector<i64> params(4 * graph::row_fields, 0);
    const i64 rows[4][6] = {{2, 1, 1, 0, 0, 0}, {2, 1, 4, 0, 0, 0}, {6, 1, 1, 0, 0, 0}, {0, 0, 0, 0, 0, 0}};
    for (int t = 0; t < 4; ++t)
        for (int f = 0; f < 6; ++f) params[static_cast<std::size_t>(t * graph::row_fields + f)] = rows[t][f];
    const std::uint8_t table_op[4] = {0, 0, 0, 8};
    const graph::Table table{4, 1, table_op, params.data()};
    const i64 ids[4] = {0, 1, 2, -1};
    const graph::Ids<i64> view{reinterpret_cast<const char*>(ids), 4 * sizeof(i64), sizeof(i64)};
    const i64 size = 32;
    Out out(1, 4, 1);
    std::vector<i64> blind(4), lo(4), hi(4);
    std::vector<std::uint8_t> state(4), simple(1);
    auto detailed = [&](Out& o) {  // Results with the optional values, into the vectors above
        graph::Results r = o.results();
        r.blind = blind.data();
        r.ext_lo = lo.data();
        r.ext_hi = hi.data();
        r.ext_state = state.data();
        r.simple = simple.data();
        return r;
    };
    graph::evaluate_sets(net.topology(), table, view, 1, &size, detailed(out), 1, [] { return false; });
    CHECK(out.status[0] == 0 && simple[0] == 1);
    // Node 1 sees {0, 1} + {0, 4} = {0, 1, 4, 5} of [0, 5]: 2 holes; the add's k6 path fills them.
    CHECK(blind[0] == 0 && blind[1] == 2 && blind[2] == 0 && blind[3] == 0);
    CHECK(state[1] == 2 && lo[1] == 0 && hi[1] == 5 && state[3] == 2 && lo[3] == 0 && hi[3] == 5);
    CHECK(!(out.flags[3] & graph::flag::misaligned) && out.rf[3] == 6 && out.rf_min[3] == 6);
    // Without the optional arrays nothing is written to them (the batch path's default).
    Out plain(1, 4, 1);
    graph::evaluate_sets(net.topology(), table, view, 1, &size, plain.results(), 1, [] { return false; });
    CHECK(plain.rf == out.rf && plain.flags == out.flags);
    // A stride-2 transposed conv: jump 1/2, classes of period 2: not simple (the reference decides).
    Net up;
    up.node(graph::Op::conv_transpose, {-1});
    std::vector<i64> up_params(graph::row_fields, 0);
    const i64 up_row[6] = {2, 2, 1, 0, 0, 0};
    for (int f = 0; f < 6; ++f) up_params[static_cast<std::size_t>(f)] = up_row[f];
    const std::uint8_t up_op[1] = {1};
    const graph::Table up_table{1, 1, up_op, up_params.data()};
    const i64 up_ids[1] = {0};
    const graph::Ids<i64> up_view{reinterpret_cast<const char*>(up_ids), sizeof(i64), sizeof(i64)};
    Out up_out(1, 1, 1);
    graph::evaluate_sets(up.topology(), up_table, up_view, 1, &size, detailed(up_out), 1, [] { return false; });
    CHECK(up_out.status[0] == 0 && simple[0] == 0 && up_out.period[0] == 2);
}

int main() {
    check_rationals();
    check_rational_fold_is_a_mean();
    check_graph();
    check_blind_spots();
    if (failures) {
        std::fprintf(stderr, "%d graph C++ check(s) failed\n", failures);
        return 1;
    }
    std::printf("graph C++ checks passed\n");
    return 0;
}
