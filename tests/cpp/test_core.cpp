// The header-only core compiled and checked alone: no Python, no pybind11.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "rfsearch/batch.hpp"

using namespace rfsearch;

static int failures = 0;
#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            std::fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
            ++failures;                                               \
        }                                                             \
    } while (0)

int main() {
    // The seed example on 32: conv3 s1 p1, maxpool2 s2, conv3 s1 p1, maxpool2 s2.
    const LayerParams seed[4] = {{3, 1, 1, 1, 1, false}, {2, 2, 1, 0, 0, false},
                                 {3, 1, 1, 1, 1, false}, {2, 2, 1, 0, 0, false}};
    AxisState s;
    s.size = 32;
    for (const auto& p : seed) {
        CHECK(check_params(p) == Fold::ok);
        CHECK(fold_layer(s, p, true) == Fold::ok);
    }
    CHECK(s.rf == 10 && s.jump == 4 && s.padding == 3 && s.size == 8);

    // Overflow is reported, never wrapped: 63 stride-2 layers reach jump 2^63.
    AxisState deep;
    Fold last = Fold::ok;
    int layers = 0;
    for (; layers < 70 && last == Fold::ok; ++layers) last = fold_layer(deep, {3, 2, 1, 1, 1, false}, false);
    CHECK(last == Fold::overflow && layers == 63 && deep.jump == (i64{1} << 62));

    // Collapse, TF 'same', ceil_mode and bad parameters.
    AxisState small;
    small.size = 2;
    CHECK(fold_layer(small, {3, 1, 1, 0, 0, false}, true) == Fold::collapsed && small.size == 0);
    AxisState same;
    same.size = 224;
    CHECK(fold_layer(same, {3, 2, 1, pad_same, pad_same, false}, true) == Fold::ok);
    CHECK(same.padding == 0 && same.size == 112);
    AxisState unsized;
    CHECK(fold_layer(unsized, {3, 2, 1, pad_same, pad_same, false}, false) == Fold::same_needs_size);
    AxisState ceil;
    ceil.size = 3;
    CHECK(fold_layer(ceil, {2, 2, 1, 1, 1, true}, true) == Fold::ok && ceil.size == 2);
    CHECK(check_params({0, 1, 1, 0, 0, false}) == Fold::bad_kernel);
    CHECK(check_params({3, 1, 1, pad_same, 0, false}) == Fold::bad_padding_after);

    // The threaded batch driver: many stacks, lowest-index error wins.
    const i64 n = 100000, l = 4;
    std::vector<std::int32_t> k(n * l, 3), st(n * l, 1), d(n * l, 1), p(n * l, 1);
    std::vector<std::uint8_t> c(n * l, 0);
    StackBatch<std::int32_t, std::int64_t> b;
    b.kernel = {k.data(), l, 1, 0};
    b.stride = {st.data(), l, 1, 0};
    b.dilation = {d.data(), l, 1, 0};
    b.pad_before = b.pad_after = {p.data(), l, 1, 0};
    b.ceil_mode = {c.data(), l, 1, 0};
    b.n_stacks = n;
    b.n_layers = l;
    b.n_axes = 1;
    std::vector<i64> rf(n), jump(n), pad(n), size(n);
    std::vector<std::uint8_t> status(n);
    const StackResults r{rf.data(), jump.data(), pad.data(), size.data(), status.data()};
    auto never = [] { return false; };
    BatchOutcome out = score_batch(b, r, 2, never);
    CHECK(out.error.stack < 0 && !out.cancelled && rf[n - 1] == 9 && pad[0] == 4);
    k[90000 * l + 1] = 0;
    k[500 * l + 2] = -1;
    out = score_batch(b, r, 2, never);
    CHECK(out.error.stack == 500 && out.error.layer == 2 && out.error.field == Field::kernel && out.error.value == -1);

    if (failures) return EXIT_FAILURE;
    std::puts("core C++ checks passed");
    return EXIT_SUCCESS;
}
