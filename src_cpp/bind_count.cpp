// The search's exact combinatorics: counting feasible stacks (count_space), completion tables for
// exact uniform sampling (FeasibleTables), and blind spots of many stacks (batch_blind_spots,
// blind_spots_by_id). Integers of any size cross the boundary as little-endian bytes (Python's
// int.to_bytes / int.from_bytes). Inputs are converted with the GIL held; the work then runs
// without it, polling for Ctrl-C.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "intake.hpp"
#include "register.hpp"
#include "rfsearch/batch_reach.hpp"
#include "rfsearch/count.hpp"

namespace py = pybind11;

namespace rfsearch::bind {

namespace {

using intake::error_dict;
using intake::int_kind;
using intake::layer_kind;
using intake::with_int_type;

// --- counting ------------------------------------------------------------------------------

py::bytes to_bytes(const BigUint& v) { return py::bytes(v.to_bytes()); }

// The space as the counter reads it. ranges: 3 values per axis (given 0/1, lo, hi); params: per
// choice and axis (kernel, stride, dilation, pad_before, pad_after, ceil_mode); choices: the
// number of choices of each position list (later positions use the last); allowed: per choice.
count::Space make_space(int n_axes, i64 depth_lo, i64 depth_hi, i64 max_down, const std::optional<std::vector<i64>>& input_size,
                        const std::vector<i64>& rf, const std::vector<i64>& jump, const std::vector<i64>& size,
                        bool rf_within_input, const std::vector<i64>& params, const std::vector<i64>& choices,
                        const std::vector<bool>& allowed, i64 max_bytes) {
    if (n_axes < 1 || n_axes > count::max_axes) throw py::value_error("n_axes must be in [1, " + std::to_string(count::max_axes) + "]");
    const auto A = static_cast<std::size_t>(n_axes);
    count::Space s;
    s.n_axes = n_axes;
    s.depth_lo = depth_lo;
    s.depth_hi = depth_hi;
    s.max_down = max_down;
    s.sized = input_size.has_value();
    if (input_size) {
        if (input_size->size() != A) throw py::value_error("input_size: one value per axis");
        for (std::size_t a = 0; a < A; ++a) s.input_size[a] = (*input_size)[a];
    }
    const std::pair<const std::vector<i64>*, std::array<count::Range, count::max_axes>*> ranges[] = {
        {&rf, &s.rf}, {&jump, &s.jump}, {&size, &s.size}};
    for (const auto& [values, out] : ranges) {
        if (values->size() != 3 * A) throw py::value_error("target ranges: three values per axis");
        for (std::size_t a = 0; a < A; ++a) (*out)[a] = {(*values)[3 * a] != 0, (*values)[3 * a + 1], (*values)[3 * a + 2]};
    }
    s.rf_within_input = rf_within_input;
    if (max_bytes < 0) throw py::value_error("max_bytes must be >= 0 (0: no limit)");
    s.max_bytes = static_cast<std::size_t>(max_bytes);
    std::size_t n_total = 0;
    for (i64 c : choices) {
        if (c < 1) throw py::value_error("choices: every position list needs a choice");
        n_total += static_cast<std::size_t>(c);
    }
    if (params.size() != n_total * A * 6 || allowed.size() != n_total)
        throw py::value_error("params / allowed do not match the choice counts");
    std::size_t at = 0;
    for (i64 c : choices) {
        std::vector<count::Choice> list(static_cast<std::size_t>(c));
        for (auto& choice : list) {
            for (std::size_t a = 0; a < A; ++a) {
                const i64* p = params.data() + (at * A + a) * 6;
                choice.axes[a] = LayerParams{p[0], p[1], p[2], p[3], p[4], p[5] != 0};
            }
            choice.allowed = allowed[at];
            ++at;
        }
        s.positions.push_back(std::move(list));
    }
    return s;
}

// Runs f(poll) without the GIL; Ctrl-C (poll) becomes KeyboardInterrupt.
template <class F>
auto without_gil(F&& f) -> decltype(f(std::declval<bool (&)()>())) {
    using R = decltype(f(std::declval<bool (&)()>()));
    std::optional<R> result;
    bool cancelled = false;
    {
        py::gil_scoped_release release;
        struct Poll {
            static bool check() {
                py::gil_scoped_acquire acquire;
                return PyErr_CheckSignals() != 0;  // leaves KeyboardInterrupt pending for below
            }
        };
        try {
            result.emplace(f(Poll::check));
        } catch (const count::Cancelled&) {
            cancelled = true;
        }
    }
    if (cancelled) throw py::error_already_set();
    return std::move(*result);
}

#define RFSEARCH_SPACE_ARGS                                                                                   \
    int n_axes, i64 depth_lo, i64 depth_hi, i64 max_down, const std::optional<std::vector<i64>>&input_size, \
        const std::vector<i64>&rf, const std::vector<i64>&jump, const std::vector<i64>&size,                 \
        bool rf_within_input, const std::vector<i64>&params, const std::vector<i64>&choices,                 \
        const std::vector<bool>&allowed, i64 max_bytes
#define RFSEARCH_SPACE_NAMES \
    n_axes, depth_lo, depth_hi, max_down, input_size, rf, jump, size, rf_within_input, params, choices, allowed, max_bytes
#define RFSEARCH_SPACE_KWARGS                                                                                      \
    py::kw_only(), py::arg("n_axes"), py::arg("depth_lo"), py::arg("depth_hi"), py::arg("max_down"),              \
        py::arg("input_size"), py::arg("rf"), py::arg("jump"), py::arg("size"), py::arg("rf_within_input"), \
        py::arg("params"), py::arg("choices"), py::arg("allowed"), py::arg("max_bytes")

py::dict count_space(RFSEARCH_SPACE_ARGS) {
    const count::Space space = make_space(RFSEARCH_SPACE_NAMES);
    const count::CountResult r = without_gil([&](auto& poll) { return count::count_space(space, poll); });
    const auto n = static_cast<py::ssize_t>(r.counts.size());
    py::array_t<i64> keys({n, static_cast<py::ssize_t>(r.n_axes)});
    std::copy(r.rf.begin(), r.rf.end(), keys.mutable_data());
    py::list counts;
    for (const BigUint& c : r.counts) counts.append(to_bytes(c));
    py::dict d;
    d["total"] = to_bytes(r.total);
    d["feasible"] = to_bytes(r.feasible);
    d["rf"] = keys;
    d["counts"] = counts;
    return d;
}

// --- blind spots of many stacks --------------------------------------------------------------

// Runs the batch without the GIL; returns {"blind_spots": out, "error": ...}.
template <class Batch>
py::dict run_blind_spots(py::array_t<i64>& out, Batch&& batch) {
    BatchOutcome outcome;
    {
        py::gil_scoped_release release;
        auto poll = [] {
            py::gil_scoped_acquire acquire;
            return PyErr_CheckSignals() != 0;
        };
        outcome = batch(poll);
    }
    if (outcome.cancelled) throw py::error_already_set();
    py::dict d;
    d["blind_spots"] = out;
    d["error"] = error_dict(outcome.error);
    return d;
}

py::dict batch_blind_spots(const py::array& kernel, const py::array& stride, const py::array& padding,
                           const py::array& dilation, const py::array& padding_after, const py::array& ceil_mode,
                           const std::optional<py::array>& depth, const std::optional<std::vector<i64>>& input_size,
                           i64 threads, i64 cap) {
    if (kernel.ndim() != 3) throw py::value_error("kernel: expected shape (N, L, A), got " + intake::shape_text(kernel));
    const i64 n = kernel.shape(0), l = kernel.shape(1), a = kernel.shape(2);
    intake::require_axes(a);
    if (cap < 1) throw py::value_error("cap must be >= 1");
    const IntKind kind = layer_kind(kernel, stride, padding, dilation, padding_after, ceil_mode);
    const StackSet set{n, l, a, intake::input_sizes(input_size, a), intake::view_any1(depth, "depth", n)};
    py::array_t<i64> out({n, a});
    return with_int_type(kind, [&](auto tag) {
        using T = decltype(tag);
        const DenseLayers<T> src{intake::view3<T>(kernel, "kernel", n, l, a), intake::view3<T>(stride, "stride", n, l, a),
                                 intake::view3<T>(dilation, "dilation", n, l, a),
                                 intake::view3<T>(padding, "padding", n, l, a),
                                 intake::view3<T>(padding_after, "padding_after", n, l, a),
                                 intake::view3<std::uint8_t>(ceil_mode, "ceil_mode", n, l, a)};
        i64* raw = out.mutable_data();
        return run_blind_spots(out, [&](auto& poll) { return blind_spots_batch<false>(set, src, raw, cap, threads, poll); });
    });
}

py::dict blind_spots_by_id(const py::array& kernel, const py::array& stride, const py::array& padding,
                           const py::array& dilation, const py::array& padding_after, const py::array& ceil_mode,
                           const py::array& ids, const std::optional<py::array>& depth,
                           const std::optional<std::vector<i64>>& input_size, i64 threads, i64 cap, bool per_layer) {
    if (kernel.ndim() != 2) throw py::value_error("kernel: expected table shape (T, A), got " + intake::shape_text(kernel));
    const i64 t = kernel.shape(0), a = kernel.shape(1);
    intake::require_axes(a);
    if (ids.ndim() != 2) throw py::value_error("ids: expected shape (N, L), got " + intake::shape_text(ids));
    if (cap < 1) throw py::value_error("cap must be >= 1");
    const i64 n = ids.shape(0), l = ids.shape(1);
    const IntKind kind = layer_kind(kernel, stride, padding, dilation, padding_after, ceil_mode);
    const IntKind id_kind = int_kind(ids, "ids");
    const StackSet set{n, l, a, intake::input_sizes(input_size, a), intake::view_any1(depth, "depth", n)};
    const PreparedTable table = with_int_type(kind, [&](auto tag) {
        using T = decltype(tag);
        return prepare_table<T>(intake::view2<T>(kernel, "kernel", t, a), intake::view2<T>(stride, "stride", t, a),
                                intake::view2<T>(dilation, "dilation", t, a), intake::view2<T>(padding, "padding", t, a),
                                intake::view2<T>(padding_after, "padding_after", t, a),
                                intake::view2<std::uint8_t>(ceil_mode, "ceil_mode", t, a), t, a,
                                set.input_size != nullptr);
    });
    py::array_t<i64> out(per_layer ? std::vector<py::ssize_t>{n, l, a} : std::vector<py::ssize_t>{n, a});
    return with_int_type(id_kind, [&](auto tag) {
        using I = decltype(tag);
        const IdLayers<I> src{intake::view2<I>(ids, "ids", n, l), &table};
        i64* raw = out.mutable_data();
        return run_blind_spots(out, [&](auto& poll) {
            return per_layer ? blind_spots_batch<true>(set, src, raw, cap, threads, poll)
                             : blind_spots_batch<false>(set, src, raw, cap, threads, poll);
        });
    });
}

}  // namespace

void register_count(py::module_& m) {
    // The DP's tables would pass max_bytes: a MemoryError the Python side words as a refusal.
    py::register_exception<count::TooLarge>(m, "CountTooLarge", PyExc_MemoryError);
    m.def(
        "count_space", [](RFSEARCH_SPACE_ARGS) { return count_space(RFSEARCH_SPACE_NAMES); }, RFSEARCH_SPACE_KWARGS,
        "Exact counts of a search space by dynamic programming (rfsearch/search/count.py builds the arguments). "
        "Returns a dict: total and feasible (little-endian bytes of the exact integers), rf (H, A) int64 "
        "histogram keys sorted lexicographically, counts (a list of H little-endian bytes).");

    py::class_<count::FeasibleTables>(m, "FeasibleTables",
                                      "Completion counts of every reachable state of a search space (exact).")
        .def(py::init([](RFSEARCH_SPACE_ARGS) {
                 const count::Space space = make_space(RFSEARCH_SPACE_NAMES);
                 return without_gil([&](auto& poll) { return std::make_unique<count::FeasibleTables>(space, poll); });
             }),
             RFSEARCH_SPACE_KWARGS)
        .def(
            "feasible", [](const count::FeasibleTables& t) { return to_bytes(t.feasible()); },
            "The number of feasible stacks (little-endian bytes).")
        .def(
            "unrank",
            [](const count::FeasibleTables& t, const py::bytes& index) {
                const BigUint i = BigUint::from_bytes(static_cast<std::string>(index));
                py::gil_scoped_release release;
                return t.unrank(i);
            },
            py::arg("index"),
            "Choice indices of the index-th feasible stack in choice order (index: little-endian bytes). "
            "IndexError unless index < feasible.")
        .def(
            "unrank_many",
            [](const count::FeasibleTables& t, const std::vector<py::bytes>& indices) {
                std::vector<BigUint> values;
                for (const py::bytes& b : indices) values.push_back(BigUint::from_bytes(static_cast<std::string>(b)));
                std::vector<std::vector<i64>> out;
                {
                    py::gil_scoped_release release;
                    for (const BigUint& i : values) out.push_back(t.unrank(i));
                }
                return out;
            },
            py::arg("indices"), "unrank of each index (a list of little-endian bytes), without the GIL.")
        .def(
            "completions",
            [](const count::FeasibleTables& t, const std::vector<i64>& prefix) {
                const auto c = t.completions(prefix);
                py::list counts;
                for (const BigUint& v : c.per_choice) counts.append(to_bytes(v));
                return py::make_tuple(c.stop, counts);
            },
            py::arg("prefix"),
            "(1 if the prefix is feasible else 0, feasible stacks behind each next choice as little-endian "
            "bytes). ValueError for a prefix past the maximum depth, IndexError for a choice out of range.");

    m.def("batch_blind_spots", &batch_blind_spots, py::kw_only(), py::arg("kernel"), py::arg("stride"),
          py::arg("padding"), py::arg("dilation"), py::arg("padding_after"), py::arg("ceil_mode"), py::arg("depth"),
          py::arg("input_size"), py::arg("threads"), py::arg("cap"),
          "Blind spots of N stacks from (N, L, A) parameter arrays, as batch_receptive_fields takes them. Returns a "
          "dict: blind_spots (N, A) int64 (-1: RF above cap, not computed) and error (None or a dict as "
          "batch_receptive_fields gives).");
    m.def("blind_spots_by_id", &blind_spots_by_id, py::kw_only(), py::arg("kernel"), py::arg("stride"),
          py::arg("padding"), py::arg("dilation"), py::arg("padding_after"), py::arg("ceil_mode"), py::arg("ids"),
          py::arg("depth"), py::arg("input_size"), py::arg("threads"), py::arg("cap"), py::arg("per_layer"),
          "Blind spots of N stacks given as (N, L) row ids into a table of T layers ((T, A) columns): (N, A), or "
          "(N, L, A) after every layer with per_layer. Returns a dict as batch_blind_spots does.");
}

}  // namespace rfsearch::bind
