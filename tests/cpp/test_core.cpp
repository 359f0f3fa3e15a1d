// The header-only core compiled and checked alone: no Python, no pybind11.
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <type_traits>
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

// A small deterministic generator (the test must not depend on the standard library's).
struct Lcg {
    std::uint64_t state;
    i64 below(i64 n) {  // uniform enough in [0, n)
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<i64>((state >> 33) % static_cast<std::uint64_t>(n));
    }
    i64 pick(std::initializer_list<i64> values) {
        return values.begin()[below(static_cast<i64>(values.size()))];
    }
};

// Random (N, L, A) stacks as C-contiguous int32 arrays, plus the batch reading them.
struct RandomStacks {
    i64 n, l, a;
    std::vector<std::int32_t> kernel, stride, dilation, pad_before, pad_after;
    std::vector<std::uint8_t> ceil;
    std::vector<std::int64_t> depth;
    std::vector<i64> input_size;

    RandomStacks(i64 n_, i64 l_, i64 a_, Lcg& rng) : n(n_), l(l_), a(a_) {
        const auto count = static_cast<std::size_t>(n * l * a);
        for (std::size_t i = 0; i < count; ++i) {
            kernel.push_back(static_cast<std::int32_t>(1 + rng.below(7)));
            stride.push_back(static_cast<std::int32_t>(rng.pick({1, 1, 1, 2, 2, 4})));
            dilation.push_back(static_cast<std::int32_t>(1 + rng.below(4)));
            pad_before.push_back(static_cast<std::int32_t>(rng.below(5)));
            pad_after.push_back(static_cast<std::int32_t>(rng.below(5)));
            ceil.push_back(static_cast<std::uint8_t>(rng.below(3) == 0));
        }
        for (i64 i = 0; i < n; ++i) depth.push_back(rng.below(l + 1));
        for (i64 i = 0; i < a; ++i) input_size.push_back(rng.pick({3, 9, 224, i64{1} << 40}));
    }
    StackBatch<std::int32_t, std::int64_t> batch(bool ragged, bool sized) const {
        StackBatch<std::int32_t, std::int64_t> b;
        auto view = [&](const auto& v) { return Strided3<std::remove_cv_t<std::remove_reference_t<decltype(v[0])>>>{v.data(), l * a, a, 1}; };
        b.kernel = view(kernel);
        b.stride = view(stride);
        b.dilation = view(dilation);
        b.pad_before = view(pad_before);
        b.pad_after = view(pad_after);
        b.ceil_mode = view(ceil);
        b.depth = ragged ? depth.data() : nullptr;
        b.input_size = sized ? input_size.data() : nullptr;
        b.n_stacks = n;
        b.n_layers = l;
        b.n_axes = a;
        return b;
    }
};

struct Results {
    std::vector<i64> rf, jump, pad, size;
    std::vector<std::uint8_t> status;
    explicit Results(i64 rows)
        : rf(static_cast<std::size_t>(rows)), jump(rf), pad(rf), size(rf), status(static_cast<std::size_t>(rows)) {}
    StackResults out() { return {rf.data(), jump.data(), pad.data(), size.data(), status.data()}; }
    bool operator==(const Results& o) const {
        return rf == o.rf && jump == o.jump && pad == o.pad && size == o.size && status == o.status;
    }
};

bool same_error(const BatchError& x, const BatchError& y) {
    return x.stack == y.stack && x.layer == y.layer && x.axis == y.axis && x.code == y.code && x.field == y.field &&
           x.value == y.value && x.value_too_large == y.value_too_large;
}

// score_range (fast path where it can) against score_range_scalar: results and error.
template <class T, class D>
bool fast_equals_scalar(const StackBatch<T, D>& b) {
    Results fast(b.n_stacks * b.n_axes), scalar(b.n_stacks * b.n_axes);
    const BatchError e_fast = score_range(b, fast.out(), 0, b.n_stacks);
    const BatchError e_scalar = score_range_scalar(b, scalar.out(), 0, b.n_stacks);
    if (!same_error(e_fast, e_scalar)) return false;
    return e_fast.stack >= 0 || fast == scalar;  // after an error, results are unspecified
}

void check_fast_path() {
    Lcg rng{42};
    // Random stacks, ragged or not, sized or not, one to three axes.
    for (i64 a = 1; a <= 3; ++a) {
        RandomStacks s(1000 + a, 12, a, rng);
        for (bool ragged : {false, true})
            for (bool sized : {false, true}) CHECK(fast_equals_scalar(s.batch(ragged, sized)));
    }
    // Broadcast views: one value for every stack and layer (stride 0), or per layer.
    RandomStacks s(500, 10, 1, rng);
    auto b = s.batch(true, true);
    const std::int32_t one = 1, two = 2;
    b.dilation = {&one, 0, 0, 0};
    b.stride = {&two, 0, 0, 0};
    CHECK(fast_equals_scalar(b));
    b.stride = {s.stride.data(), 0, 1, 0};
    CHECK(fast_equals_scalar(b));
    RandomStacks s3(200, 5, 3, rng);  // one value per axis: broadcast over stacks and layers only
    auto b3 = s3.batch(false, true);
    const std::int32_t per_axis[3] = {1, 4, 2};
    b3.stride = {per_axis, 0, 0, 1};
    CHECK(fast_equals_scalar(b3));

    // The fast path is taken, not just correct: pack + fold one block of the random stacks and
    // compare lane by lane. Values past a stack's depth are garbage and must not matter.
    constexpr int B = fast::block_stacks;
    RandomStacks blk(B, 8, 1, rng);
    for (i64 j = 0; j < B; ++j)
        for (i64 l = blk.depth[static_cast<std::size_t>(j)]; l < 8; ++l) blk.kernel[static_cast<std::size_t>(j * 8 + l)] = 0;
    std::uint8_t active[B * 8];
    for (i64 j = 0; j < B; ++j)
        for (i64 l = 0; l < 8; ++l) active[j * 8 + l] = l < blk.depth[static_cast<std::size_t>(j)];
    fast::u64 packed[B * 8];
    CHECK(fast::pack_layers(blk.kernel.data(), blk.stride.data(), blk.dilation.data(), blk.pad_before.data(),
                            blk.pad_after.data(), blk.ceil.data(), active, packed, B * 8));
    fast::BlockState st;
    st.reset(224);
    fast::fold_block(packed, 8, true, st);
    CHECK(st.exact());
    auto whole = blk.batch(true, false);
    const i64 size224 = 224;
    whole.input_size = &size224;
    Results scalar(B);
    CHECK(score_range_scalar(whole, scalar.out(), 0, B).stack < 0);
    for (std::size_t j = 0; j < B; ++j) {
        CHECK(static_cast<i64>(st.rf[j]) == scalar.rf[j] && static_cast<i64>(st.padding[j]) == scalar.pad[j]);
        CHECK((i64{1} << st.log2_jump[j]) == scalar.jump[j] && st.size_m1[j] + 1 == scalar.size[j]);
        CHECK((st.live[j] ? 0 : 1) == scalar.status[j]);
    }

    // An invalid value anywhere: the same (first) error as the scalar path.
    RandomStacks e(300, 6, 2, rng);
    for (i64 pos : {i64{0}, i64{5}, i64{17}, i64{12 * 17 + 3}, i64{300 * 12 - 1}}) {
        RandomStacks bad = e;
        bad.kernel[static_cast<std::size_t>(pos)] = 0;
        bad.stride[static_cast<std::size_t>((pos * 7) % (300 * 12))] = 3;  // valid, not fast
        CHECK(fast_equals_scalar(bad.batch(false, true)));
        CHECK(fast_equals_scalar(bad.batch(true, true)));
        bad.pad_after[static_cast<std::size_t>(pos)] = -1;
        CHECK(fast_equals_scalar(bad.batch(false, false)));
    }

    // Near overflow: 28..64 stride-2 layers (log2 jump past 32, then past 63), huge kernels.
    const i64 deep = 64, stacks = 2 * (deep - 27);
    std::vector<std::int64_t> k(static_cast<std::size_t>(stacks * deep), 3), st2(k.size(), 2), d(k.size(), 1),
        p(k.size(), 0), depth;
    std::vector<std::uint8_t> c(k.size(), 0);
    for (i64 i = 0; i < stacks; ++i) depth.push_back(28 + i % (deep - 27));
    for (std::size_t i = 0; i < k.size(); i += 5) k[i] = i64{1} << 14;
    StackBatch<std::int64_t, std::int64_t> ov;
    ov.kernel = {k.data(), deep, 1, 0};
    ov.stride = {st2.data(), deep, 1, 0};
    ov.dilation = {d.data(), deep, 1, 0};
    ov.pad_before = ov.pad_after = {p.data(), deep, 1, 0};
    ov.ceil_mode = {c.data(), deep, 1, 0};
    ov.depth = depth.data();
    ov.n_stacks = stacks;
    ov.n_layers = deep;
    ov.n_axes = 1;
    CHECK(fast_equals_scalar(ov));
}

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

    check_fast_path();

    if (failures) return EXIT_FAILURE;
    std::puts("core C++ checks passed");
    return EXIT_SUCCESS;
}
