// The header-only core compiled and checked alone: no Python, no pybind11.
// tests/test_cpp_standalone.py builds it twice: with the compiler's overflow builtins and with
// -DRFSEARCH_PORTABLE_BUILTINS (the fallback other compilers get).
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <numeric>
#include <stdexcept>
#include <type_traits>
#include <vector>

#if defined(__unix__)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "rfsearch/batch.hpp"

using namespace rfsearch;

#include "check.hpp"

// A small deterministic generator (the test must not depend on the standard library's).
struct Lcg {
    std::uint64_t state;
    i64 below(i64 n) {  // uniform enough in [0, n)
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<i64>((state >> 33) % static_cast<std::uint64_t>(n));
    }
    i64 pick(std::initializer_list<i64> values) { return values.begin()[below(static_cast<i64>(values.size()))]; }
    std::uint64_t bits() {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return state ^ (state >> 29);
    }
};

// --- checked arithmetic (builtins or the portable fallback, whichever this build has) -------

void check_checked_arithmetic() {
#if defined(__SIZEOF_INT128__)
    using wide = __int128;
    const i64 edges[] = {0, 1, -1, 2, -2, 3, 7, -7, i64{1} << 31, -(i64{1} << 31), i64{1} << 32, 3037000499,
                         3037000500, -3037000500, checked::max, checked::min, checked::max - 1, checked::min + 1,
                         checked::max / 2, checked::min / 2, checked::max / 3, checked::min / 3};
    auto expect = [](wide exact, bool overflowed, i64 got) {
        const bool fits = exact >= checked::min && exact <= checked::max;
        return overflowed == !fits && (!fits || got == static_cast<i64>(exact));
    };
    Lcg rng{99};
    std::vector<i64> values(std::begin(edges), std::end(edges));
    for (int i = 0; i < 2000; ++i) values.push_back(static_cast<i64>(rng.bits() >> rng.below(64)) * rng.pick({1, -1}));
    for (i64 a : values)
        for (i64 b : {i64{0}, i64{1}, i64{-1}, i64{2}, i64{-3}, checked::max, checked::min, values[values.size() / 2],
                      a, -a - 1}) {
            i64 out = 0;
            bool o = checked::add(a, b, out);
            CHECK(expect(wide{a} + b, o, out));
            o = checked::sub(a, b, out);
            CHECK(expect(wide{a} - b, o, out));
            o = checked::mul(a, b, out);
            CHECK(expect(wide{a} * b, o, out));
        }
#endif
    for (int k = 0; k < 64; ++k) CHECK(checked::ctz(std::uint64_t{1} << k) == k);
    CHECK(checked::ctz(12) == 2);
}

// --- a rational Num: the fold is generic (a graph evaluator plugs in jumps like 1/2) --------

struct Rational {
    i64 num = 0, den = 1;  // den > 0, reduced
    bool operator==(const Rational& o) const { return num == o.num && den == o.den; }
};

namespace rfsearch {
template <>
struct NumOps<Rational> {
    static Rational from_int(i64 v) noexcept { return {v, 1}; }
    static bool reduce(i64 num, i64 den, Rational& out) noexcept {
        const i64 g = std::gcd(num, den);
        out = {num / g, den / g};
        return false;
    }
    static bool add(Rational a, Rational b, Rational& out) noexcept {
        const i64 g = std::gcd(a.den, b.den);
        i64 den, x, y, num;
        if (checked::mul(a.den / g, b.den, den) || checked::mul(a.num, den / a.den, x) ||
            checked::mul(b.num, den / b.den, y) || checked::add(x, y, num))
            return true;
        return reduce(num, den, out);
    }
    static bool mul(Rational a, i64 k, Rational& out) noexcept {
        if (k == 0) {
            out = {0, 1};
            return false;
        }
        const i64 g = std::gcd(k, a.den);
        i64 num;
        if (checked::mul(a.num, k / g, num)) return true;
        return reduce(num, a.den / g, out);
    }
};
}  // namespace rfsearch

LayerParams random_layer(Lcg& rng) {
    LayerParams p;
    p.kernel = 1 + rng.below(7);
    p.stride = rng.pick({1, 1, 1, 2, 2, 3, 4});
    p.dilation = 1 + rng.below(4);
    p.pad_before = rng.below(5);
    p.pad_after = rng.below(5);
    if (rng.below(8) == 0) p.pad_before = p.pad_after = pad_same;
    p.ceil_mode = rng.below(3) == 0;
    return p;
}

void check_fold_generic_over_num() {
    Lcg rng{7};
    for (int trial = 0; trial < 500; ++trial) {
        AxisState<i64> s;
        AxisState<Rational> q;
        const bool sized = trial % 2 == 0;
        s.size = q.size = sized ? 1 + rng.below(400) : 0;
        for (int l = 0; l < 12; ++l) {
            LayerParams p = random_layer(rng);
            if (check_params(p, sized) != ParamError::none) continue;
            const Status a = fold_layer(s, p, sized, s);
            const Status b = fold_layer(q, p, sized, q);
            CHECK(a == b);
            CHECK(q.rf == (Rational{s.rf, 1}) && q.jump == (Rational{s.jump, 1}) &&
                  q.padding == (Rational{s.padding, 1}) && q.size == s.size);
            if (a != Status::ok) break;
        }
    }
    // A state after a 2x upsampling (jump 1/2, as a transposed convolution gives): a 3-wide conv
    // then sees 1 + 2 * 1/2 = 2 input pixels, and its padding 1 moves the start by 1/2.
    AxisState<Rational> up;
    up.jump = {1, 2};
    CHECK(fold_layer(up, {3, 1, 1, 1, 1, false}, false, up) == Status::ok);
    CHECK(up.rf == (Rational{2, 1}) && up.jump == (Rational{1, 2}) && up.padding == (Rational{1, 2}));
    CHECK(fold_layer(up, {2, 2, 1, 0, 0, false}, false, up) == Status::ok && up.jump == (Rational{1, 1}));
    CHECK(up.rf == (Rational{5, 2}));
}

// --- the fold and the stack state -------------------------------------------------------------

void check_fold() {
    // The seed example on 32: conv3 s1 p1, maxpool2 s2, conv3 s1 p1, maxpool2 s2.
    const LayerParams seed[4] = {{3, 1, 1, 1, 1, false}, {2, 2, 1, 0, 0, false}, {3, 1, 1, 1, 1, false},
                                 {2, 2, 1, 0, 0, false}};
    AxisState<> s;
    s.size = 32;
    for (const auto& p : seed) {
        CHECK(check_params(p, true) == ParamError::none);
        CHECK(fold_layer(s, p, true, s) == Status::ok);
    }
    CHECK(s.rf == 10 && s.jump == 4 && s.padding == 3 && s.size == 8);

    // Overflow is reported, never wrapped: 63 stride-2 layers reach jump 2^63; out = in then.
    AxisState<> deep;
    Status last = Status::ok;
    int layers = 0;
    for (; layers < 70 && last == Status::ok; ++layers) last = fold_layer(deep, {3, 2, 1, 1, 1, false}, false, deep);
    CHECK(last == Status::overflow && layers == 63 && deep.jump == (i64{1} << 62));

    // Collapse, TF 'same', ceil_mode; out may differ from in (states are values).
    AxisState<> small, after;
    small.size = 2;
    CHECK(fold_layer(small, {3, 1, 1, 0, 0, false}, true, after) == Status::collapsed && after.size == 0);
    CHECK(small.size == 2 && small.rf == 1);
    AxisState<> same;
    same.size = 224;
    CHECK(fold_layer(same, {3, 2, 1, pad_same, pad_same, false}, true, same) == Status::ok);
    CHECK(same.padding == 0 && same.size == 112);
    AxisState<> ceil;
    ceil.size = 3;
    CHECK(fold_layer(ceil, {2, 2, 1, 1, 1, true}, true, ceil) == Status::ok && ceil.size == 2);

    // Parameter errors: separate codes, in the documented order, 'same' decided by `sized`.
    CHECK(check_params({0, 0, 0, -3, -3, false}, true) == ParamError::kernel_below_one);
    CHECK(check_params({1, 0, 0, -3, -3, false}, true) == ParamError::stride_below_one);
    CHECK(check_params({1, 1, 0, -3, -3, false}, true) == ParamError::dilation_below_one);
    CHECK(check_params({1, 1, 1, -3, -3, false}, true) == ParamError::padding_negative);
    CHECK(check_params({3, 1, 1, pad_same, 0, false}, true) == ParamError::padding_after_mismatch);
    CHECK(check_params({3, 1, 1, 0, pad_same, false}, true) == ParamError::padding_after_mismatch);
    CHECK(check_params({3, 2, 1, pad_same, pad_same, false}, false) == ParamError::same_needs_size);
    CHECK(check_params({3, 2, 1, pad_same, pad_same, false}, true) == ParamError::none);
    CHECK(check_params({3, 1, 1, pad_same, pad_same, false}, false) == ParamError::none);
    CHECK(field_of(ParamError::padding_after_mismatch) == Field::padding_after);
    CHECK(error_value({3, 2, 1, pad_same, pad_same, false}, ParamError::same_needs_size) == 2);
    CHECK(std::string(param_error_name(ParamError::id_out_of_range)) == "id_out_of_range");
    CHECK(std::string(status_name(Status::overflow)) == "overflow" && std::string(field_name(Field::ids)) == "ids");
}

void check_stack_state() {
    // A depth-first enumerator keeps one state per depth: copy, fold one layer, recurse.
    const i64 sizes[2] = {9, 224};
    const auto root = StackState<i64, 2>::start(2, sizes);
    CHECK(root.n_axes == 2 && root.sized && root.worst() == Status::ok);
    const LayerParams conv3[2] = {{3, 1, 1, 0, 0, false}, {3, 1, 1, 0, 0, false}};
    const LayerParams pool2[2] = {{2, 2, 1, 0, 0, false}, {2, 2, 1, 0, 0, false}};
    StackState<i64, 2> child;
    CHECK(fold_stack_layer(root, conv3, child) == Status::ok);
    CHECK(root.axis[0].rf == 1 && child.axis[0].rf == 3 && child.axis[0].size == 7 && child.axis[1].size == 222);
    StackState<i64, 2> grand = child;  // a copy is the whole state
    for (int i = 0; i < 3; ++i) fold_stack_layer(grand, conv3, grand);
    // axis 0 (9 -> 7 -> 5 -> 3 -> 1) is alive, one more conv3 collapses it; axis 1 goes on.
    CHECK(grand.worst() == Status::ok && grand.axis[0].size == 1);
    CHECK(fold_stack_layer(grand, conv3, grand) == Status::collapsed);
    CHECK(grand.status[0] == Status::collapsed && grand.running(1) && grand.axis[0].size == -1);
    const i64 frozen_rf = grand.axis[0].rf;
    CHECK(fold_stack_layer(grand, pool2, grand) == Status::collapsed);
    CHECK(grand.axis[0].rf == frozen_rf && grand.axis[1].jump == 2);  // a stopped axis stays as it was
    CHECK(child.axis[0].rf == 3);                                     // the parent state is untouched

    StackState<i64, 2> s;
    CHECK(!s.reset(3, nullptr) && s.n_axes == 0 && s.reset(1, nullptr) && !s.sized);
    bool threw = false;
    try {
        (void)StackState<i64, 2>::start(3, nullptr);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    CHECK(threw);
    static_assert(std::is_trivially_copyable_v<StackState<i64, 3>>, "states are copied by value");
}

// --- batches -------------------------------------------------------------------------------

template <class T>
Strided3<T> view3(const std::vector<T>& v, i64 l, i64 a) {
    const auto item = static_cast<std::ptrdiff_t>(sizeof(T));
    return {reinterpret_cast<const char*>(v.data()), l * a * item, a * item, item};
}

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
    StackSet set(bool ragged, bool sized) const {
        StackSet s{n, l, a, sized ? input_size.data() : nullptr, {}};
        if (ragged) s.depth = {reinterpret_cast<const char*>(depth.data()), 8, IntKind::i64};
        return s;
    }
    DenseLayers<std::int32_t> layers() const {
        return {view3(kernel, l, a), view3(stride, l, a), view3(dilation, l, a), view3(pad_before, l, a),
                view3(pad_after, l, a), view3(ceil, l, a)};
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
           x.value == y.value && x.value_unsigned == y.value_unsigned;
}

std::vector<SimdPath> fast_paths() {
    std::vector<SimdPath> out;
    for (SimdPath p : {SimdPath::baseline, SimdPath::v3, SimdPath::v4})
        if (simd_path_supported(p)) out.push_back(p);
    return out;
}

// score_range on every fast path this CPU has against score_range_scalar: results and error.
// Returns the fast blocks done (the fast path must really run where it can).
template <class Src>
i64 fast_equals_scalar(const StackSet& set, const Src& src, bool* ok) {
    Results scalar(set.n_stacks * set.n_axes);
    const BatchError e_scalar = score_range_scalar(set, src, scalar.out(), 0, set.n_stacks);
    i64 blocks = 0;
    *ok = true;
    for (SimdPath p : fast_paths()) {
        Results fast(set.n_stacks * set.n_axes);
        FastStats stats;
        const BatchError e_fast = score_range(set, src, fast.out(), 0, set.n_stacks, p, stats);
        *ok = *ok && same_error(e_fast, e_scalar) && (e_fast.any() || fast == scalar);  // after an error: unspecified
        blocks += stats.fast_blocks;
    }
    return blocks;
}

#define CHECK_FAST(set, src)                        \
    do {                                            \
        bool ok_;                                   \
        (void)fast_equals_scalar(set, src, &ok_);   \
        CHECK(ok_);                                 \
    } while (0)

void check_dense_fast_path() {
    Lcg rng{42};
    CHECK(simd_path_supported(SimdPath::baseline) && simd_path_supported(SimdPath::scalar));
    CHECK(simd_path_supported(best_simd_path()));
    // Random stacks, ragged or not, sized or not, one to three axes.
    for (i64 a = 1; a <= 3; ++a) {
        RandomStacks s(1000 + a, 12, a, rng);
        for (bool ragged : {false, true})
            for (bool sized : {false, true}) {
                bool ok;
                const i64 blocks = fast_equals_scalar(s.set(ragged, sized), s.layers(), &ok);
                CHECK(ok);
                CHECK(blocks > 0);
            }
    }
    // Broadcast views (stride 0), and one value per axis.
    RandomStacks s(500, 10, 1, rng);
    auto b = s.layers();
    const std::int32_t one = 1, two = 2;
    b.dilation = {reinterpret_cast<const char*>(&one), 0, 0, 0};
    b.stride = {reinterpret_cast<const char*>(&two), 0, 0, 0};
    CHECK_FAST(s.set(true, true), b);
    b.stride = {reinterpret_cast<const char*>(s.stride.data()), 0, 4, 0};
    CHECK_FAST(s.set(true, true), b);
    RandomStacks s3(200, 5, 3, rng);
    auto b3 = s3.layers();
    const std::int32_t per_axis[3] = {1, 4, 2};
    b3.stride = {reinterpret_cast<const char*>(per_axis), 0, 0, 4};
    CHECK_FAST(s3.set(false, true), b3);

    // Unaligned data, strides that are not a multiple of the item size (a packed record field).
    const i64 n = 100, l = 7;
    std::vector<char> records(static_cast<std::size_t>(n * l * 5 + 1));
    std::vector<std::int32_t> k(static_cast<std::size_t>(n * l));
    for (std::size_t i = 0; i < k.size(); ++i) {
        k[i] = static_cast<std::int32_t>(1 + rng.below(7));
        std::memcpy(records.data() + 1 + i * 5, &k[i], 4);
    }
    RandomStacks r(n, l, 1, rng);
    auto aligned = r.layers();
    aligned.kernel = view3(k, l, 1);
    auto packed = aligned;
    packed.kernel = {records.data() + 1, l * 5, 5, 0};
    Results x(n), y(n);
    CHECK(!score_range_scalar(r.set(true, true), aligned, x.out(), 0, n).any());
    FastStats stats;
    CHECK(!score_range(r.set(true, true), packed, y.out(), 0, n, best_simd_path(), stats).any());
    CHECK(x == y && stats.fast_blocks > 0);

    // The pack kernels of every path agree with pack_one on each layer (the by-id path's packer).
    for (SimdPath p : fast_paths()) {
        constexpr int B = fast::block_stacks;
        for (int trial = 0; trial < 200; ++trial) {
            std::int64_t kk[B], ss[B], dd[B], pp[B], qq[B];
            std::uint8_t cc[B];
            for (int j = 0; j < B; ++j) {
                LayerParams q = random_layer(rng);
                if (rng.below(10) == 0) q.kernel = rng.pick({16384, 16385, 0});
                if (rng.below(10) == 0) q.stride = rng.pick({8192, 16384, 3});
                if (rng.below(10) == 0) q.pad_before = rng.pick({16383, 16384});
                kk[j] = q.kernel, ss[j] = q.stride, dd[j] = q.dilation, pp[j] = q.pad_before, qq[j] = q.pad_after;
                cc[j] = q.ceil_mode;
            }
            fast::u64 words[B];
            const bool all = fast::pack_kernel<std::int64_t>(p)(kk, ss, dd, pp, qq, cc, nullptr, words, B);
            bool each = true;
            for (int j = 0; j < B; ++j) {
                fast::u64 w = 0;
                const bool fits = fast::pack_one({kk[j], ss[j], dd[j], pp[j], qq[j], cc[j] != 0}, w);
                each = each && fits;
                if (fits) CHECK(w == words[j]);
            }
            CHECK(all == each);
        }
    }

    // An invalid value anywhere: the same (first) error as the scalar path.
    RandomStacks e(300, 6, 2, rng);
    for (i64 pos : {i64{0}, i64{5}, i64{17}, i64{12 * 17 + 3}, i64{300 * 12 - 1}}) {
        RandomStacks bad = e;
        bad.kernel[static_cast<std::size_t>(pos)] = 0;
        bad.stride[static_cast<std::size_t>((pos * 7) % (300 * 12))] = 3;  // valid, not fast
        CHECK_FAST(bad.set(false, true), bad.layers());
        CHECK_FAST(bad.set(true, true), bad.layers());
        bad.pad_after[static_cast<std::size_t>(pos)] = -1;
        CHECK_FAST(bad.set(false, false), bad.layers());
    }

    // Near overflow: 28..64 stride-2 layers (log2 jump past 32, then past 63), huge kernels.
    const i64 deep = 64, stacks = 2 * (deep - 27);
    std::vector<std::int64_t> kd(static_cast<std::size_t>(stacks * deep), 3), st2(kd.size(), 2), d(kd.size(), 1),
        p(kd.size(), 0), depth;
    std::vector<std::uint8_t> c(kd.size(), 0);
    for (i64 i = 0; i < stacks; ++i) depth.push_back(28 + i % (deep - 27));
    for (std::size_t i = 0; i < kd.size(); i += 5) kd[i] = i64{1} << 14;
    const DenseLayers<std::int64_t> ov{view3(kd, deep, 1), view3(st2, deep, 1), view3(d, deep, 1), view3(p, deep, 1),
                                       view3(p, deep, 1), view3(c, deep, 1)};
    StackSet ovs{stacks, deep, 1, nullptr, {reinterpret_cast<const char*>(depth.data()), 8, IntKind::i64}};
    CHECK_FAST(ovs, ov);
}

// A table of distinct layers and (N, L) int32 ids into it.
struct RandomTable {
    i64 t, a;
    std::vector<std::int64_t> kernel, stride, dilation, pad_before, pad_after;
    std::vector<std::uint8_t> ceil;
    RandomTable(i64 t_, i64 a_, Lcg& rng) : t(t_), a(a_) {
        for (i64 i = 0; i < t * a; ++i) {
            const LayerParams p = random_layer(rng);
            kernel.push_back(p.kernel);
            // Powers of two (the fast path's strides), but the last row, which stacks use rarely.
            stride.push_back(i / a == t - 1 ? 3 : p.stride == 3 ? 2 : p.stride);
            dilation.push_back(p.dilation);
            pad_before.push_back(p.pad_before == pad_same ? 1 : p.pad_before);
            pad_after.push_back(p.pad_after == pad_same ? 1 : p.pad_after);
            ceil.push_back(p.ceil_mode);
        }
    }
    template <class T>
    static Strided2<T> col(const std::vector<T>& v, i64 a) {
        const auto item = static_cast<std::ptrdiff_t>(sizeof(T));
        return {reinterpret_cast<const char*>(v.data()), a * item, item};
    }
    PreparedTable prepare(bool sized) const {
        return prepare_table<std::int64_t>(col(kernel, a), col(stride, a), col(dilation, a), col(pad_before, a),
                                           col(pad_after, a), col(ceil, a), t, a, sized);
    }
};

void check_by_id() {
    Lcg rng{5};
    for (i64 a = 1; a <= 3; ++a) {
        RandomTable table(40, a, rng);
        const i64 n = 700, l = 9;
        std::vector<std::int32_t> ids;
        for (i64 i = 0; i < n * l; ++i)
            ids.push_back(static_cast<std::int32_t>(rng.below(2000) == 0 ? table.t - 1 : rng.below(table.t - 1)));
        RandomStacks sizes(n, l, a, rng);
        // The same stacks as dense (N, L, A) arrays: by id must equal dense.
        std::vector<std::int64_t> k, s, d, p, q;
        std::vector<std::uint8_t> c;
        for (i64 i = 0; i < n * l; ++i)
            for (i64 x = 0; x < a; ++x) {
                const auto cell = static_cast<std::size_t>(ids[static_cast<std::size_t>(i)] * a + x);
                k.push_back(table.kernel[cell]);
                s.push_back(table.stride[cell]);
                d.push_back(table.dilation[cell]);
                p.push_back(table.pad_before[cell]);
                q.push_back(table.pad_after[cell]);
                c.push_back(table.ceil[cell]);
            }
        const DenseLayers<std::int64_t> dense{view3(k, l, a), view3(s, l, a), view3(d, l, a),
                                              view3(p, l, a), view3(q, l, a), view3(c, l, a)};
        for (bool sized : {false, true})
            for (bool ragged : {false, true}) {
                const PreparedTable prepared = table.prepare(sized);
                const IdLayers<std::int32_t> by_id{{reinterpret_cast<const char*>(ids.data()), l * 4, 4}, &prepared};
                const StackSet set = sizes.set(ragged, sized);
                Results x(n * a), y(n * a);
                CHECK(!score_range_scalar(set, dense, x.out(), 0, n).any());
                CHECK(!score_range_scalar(set, by_id, y.out(), 0, n).any());
                CHECK(x == y);
                bool ok;
                CHECK(fast_equals_scalar(set, by_id, &ok) > 0);
                CHECK(ok);
            }
        // An id out of range within a stack's depth is an error there; past the depth it is ignored.
        const PreparedTable prepared = table.prepare(true);
        std::vector<std::int32_t> bad = ids;
        bad[static_cast<std::size_t>(300 * l + 4)] = static_cast<std::int32_t>(table.t);
        bad[static_cast<std::size_t>(500 * l + 2)] = -1;
        const IdLayers<std::int32_t> src{{reinterpret_cast<const char*>(bad.data()), l * 4, 4}, &prepared};
        Results out(n * a);
        const BatchError e = score_range_scalar(sizes.set(false, true), src, out.out(), 0, n);
        CHECK(e.stack == 300 && e.layer == 4 && e.axis == -1 && e.code == ParamError::id_out_of_range &&
              e.field == Field::ids && e.value == table.t);
        bool ok;
        (void)fast_equals_scalar(sizes.set(true, true), src, &ok);
        CHECK(ok);
    }
}

void check_per_layer() {
    // Row (n, l) of the per-layer mode = the stack cut after layer l + 1, scored alone.
    Lcg rng{11};
    for (i64 a = 1; a <= 2; ++a) {
        RandomStacks s(60, 10, a, rng);
        for (i64 i = 0; i < s.n * s.l * a; i += 13) s.stride[static_cast<std::size_t>(i)] = 2;  // collapses
        for (bool ragged : {false, true})
            for (bool sized : {false, true}) {
                const StackSet set = s.set(ragged, sized);
                Results layers(s.n * s.l * a);
                CHECK(!fold_range_scalar<true>(set, s.layers(), layers.out(), 0, s.n).any());
                for (i64 l = 0; l < s.l; ++l) {
                    std::vector<std::int64_t> cut;
                    for (i64 n = 0; n < s.n; ++n)
                        cut.push_back(std::min(l + 1, ragged ? s.depth[static_cast<std::size_t>(n)] : s.l));
                    StackSet prefix = set;
                    prefix.depth = {reinterpret_cast<const char*>(cut.data()), 8, IntKind::i64};
                    Results whole(s.n * a);
                    CHECK(!score_range_scalar(prefix, s.layers(), whole.out(), 0, s.n).any());
                    for (i64 n = 0; n < s.n; ++n)
                        for (i64 x = 0; x < a; ++x) {
                            const auto i = static_cast<std::size_t>((n * s.l + l) * a + x);
                            const auto j = static_cast<std::size_t>(n * a + x);
                            CHECK(layers.rf[i] == whole.rf[j] && layers.jump[i] == whole.jump[j] &&
                                  layers.pad[i] == whole.pad[j] && layers.size[i] == whole.size[j] &&
                                  layers.status[i] == whole.status[j]);
                        }
                }
            }
    }
}

void check_threads() {
    const i64 n = 100000, l = 4;
    std::vector<std::int32_t> k(n * l, 3), st(n * l, 1), d(n * l, 1), p(n * l, 1);
    std::vector<std::uint8_t> c(n * l, 0);
    const DenseLayers<std::int32_t> b{view3(k, l, 1), view3(st, l, 1), view3(d, l, 1), view3(p, l, 1), view3(p, l, 1),
                                      view3(c, l, 1)};
    const StackSet set{n, l, 1, nullptr, {}};
    Results r(n);
    auto never = [] { return false; };
    BatchOutcome out = score_batch(set, b, r.out(), 2, never);
    CHECK(!out.error.any() && !out.cancelled && r.rf[n - 1] == 9 && r.pad[0] == 4);
    CHECK(out.stats.fast_blocks == n / fast::block_stacks || best_simd_path() == SimdPath::scalar);
    k[90000 * l + 1] = 0;
    k[500 * l + 2] = -1;
    out = score_batch(set, b, r.out(), 2, never);
    CHECK(out.error.stack == 500 && out.error.layer == 2 && out.error.field == Field::kernel &&
          out.error.code == ParamError::kernel_below_one && out.error.value == -1);
    out = score_batch(set, b, r.out(), 1 << 30, never, SimdPath::scalar);  // a huge count is capped
    CHECK(out.error.stack == 500 && out.stats.fast_blocks == 0);
    bool refused = false;
    try {
        (void)score_batch(StackSet{n, l, default_max_axes + 1, nullptr, {}}, b, r.out(), 1, never);
    } catch (const std::invalid_argument&) {
        refused = true;  // more axes than the drivers' StackState holds
    }
    CHECK(refused);
    CHECK(resolve_threads(0) == max_threads() && resolve_threads(1) == 1 && resolve_threads(i64{1} << 40) == max_threads());

#if defined(__unix__)
    // The system refuses threads (address space for their stacks exhausted): the run goes on with
    // the threads it has, does every chunk, and never calls std::terminate. In a child process.
    const pid_t child = fork();
    if (child == 0) {
        struct rlimit lim;
        getrlimit(RLIMIT_AS, &lim);
        lim.rlim_cur = 512ull << 20;  // a few dozen thread stacks at most
        setrlimit(RLIMIT_AS, &lim);
        std::atomic<i64> done{0};
        const bool finished = run_chunked(1 << 16, 5000, 1, [&](i64 lo, i64 hi) { done += hi - lo; }, never);
        std::_Exit(finished && done == (1 << 16) ? 0 : 1);
    }
    int status = 0;
    CHECK(child > 0 && waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif
}

int main() {
    check_checked_arithmetic();
    check_fold();
    check_fold_generic_over_num();
    check_stack_state();
    check_dense_fast_path();
    check_by_id();
    check_per_layer();
    check_threads();
    if (failures) return EXIT_FAILURE;
    std::printf("core C++ checks passed (overflow builtins: %d, SIMD paths:", RFSEARCH_OVERFLOW_BUILTINS);
    for (SimdPath p : fast_paths()) std::printf(" %s", simd_path_name(p));
    std::puts(")");
    return EXIT_SUCCESS;
}
