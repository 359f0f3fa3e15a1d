// Graph evaluation for many parameter sets sharing one topology (graph.hpp). Outputs are
// allocated with the GIL held; the sets are then evaluated with the GIL released, on threads,
// polling for Ctrl-C between chunks.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <iterator>
#include <optional>
#include <type_traits>
#include <string>
#include <vector>

#include "intake.hpp"
#include "register.hpp"
#include "rfsearch/graph.hpp"

namespace py = pybind11;

namespace rfsearch::bind {

namespace {

// A C-contiguous array of exactly this dtype (no silent cast: forcecast would truncate floats).
template <class T>
py::array_t<T, py::array::c_style> exact(const py::array& a, const char* name, py::ssize_t ndim) {
    if (!a.dtype().is(py::dtype::of<T>()))
        throw py::type_error(std::string(name) + ": expected dtype " + py::str(py::dtype::of<T>()).cast<std::string>() +
                             ", got " + py::str(a.dtype()).cast<std::string>());
    if (a.ndim() != ndim)
        throw py::value_error(std::string(name) + ": expected " + std::to_string(ndim) + " dimensions, got shape " +
                              intake::shape_text(a));
    intake::require_native(a, name);
    return py::array_t<T, py::array::c_style>::ensure(a);
}

// The int64 values of graph::Results, in its order, by the names the dicts carry; then the
// optional int64 ones (blind spots, extents).
constexpr const char* value_names[] = {"rf", "rf_min", "jump_num", "jump_den", "start", "center2", "size", "period"};
constexpr const char* detail_names[] = {"blind", "ext_lo", "ext_hi"};
constexpr std::size_t n_values = std::size(value_names), n_detail = std::size(detail_names);

// Results over the given buffers (data() of arrays or vectors, in value_names order).
template <class V, class D>
graph::Results results_of(std::array<V, n_values>& values, std::uint8_t* flags, std::uint8_t* status, i64* at,
                          std::array<D, n_detail>* detail, std::uint8_t* ext_state, std::uint8_t* simple) {
    auto data = [](auto& buffer) -> i64* {
        if constexpr (std::is_same_v<std::decay_t<decltype(buffer)>, std::vector<i64>>) return buffer.data();
        else return buffer.mutable_data();
    };
    graph::Results r{data(values[0]), data(values[1]), data(values[2]), data(values[3]), data(values[4]),
                     data(values[5]), data(values[6]), data(values[7]), flags, status, at};
    if (detail != nullptr) {
        r.blind = data((*detail)[0]);
        r.ext_lo = data((*detail)[1]);
        r.ext_hi = data((*detail)[2]);
        r.ext_state = ext_state;
        r.simple = simple;
    }
    return r;
}

template <class V, std::size_t N>
void put(py::dict& d, const char* const (&names)[N], std::array<V, N>& values) {
    for (std::size_t k = 0; k < N; ++k) d[names[k]] = values[k];
}

py::dict evaluate_graphs(const py::array& op, const py::array& input_offsets, const py::array& inputs,
                         const py::array& like, const py::array& table_op, const py::array& table_params,
                         const py::array& ids, const std::optional<std::vector<i64>>& input_size, i64 threads,
                         bool detail) {
    const auto op_ = exact<std::uint8_t>(op, "op", 1);
    const auto offsets_ = exact<i64>(input_offsets, "input_offsets", 1);
    const auto inputs_ = exact<i64>(inputs, "inputs", 1);
    const auto like_ = exact<i64>(like, "like", 1);
    const auto table_op_ = exact<std::uint8_t>(table_op, "table_op", 1);
    const auto params_ = exact<i64>(table_params, "table_params", 3);
    const i64 v = op_.shape(0);
    intake::require_shape(offsets_, "input_offsets", {v + 1});
    intake::require_shape(like_, "like", {v});
    if (offsets_.at(v) != inputs_.shape(0))
        throw py::value_error("input_offsets: the last offset must be the number of inputs");
    const i64 t = table_op_.shape(0), a = params_.shape(1);
    intake::require_axes(a);
    intake::require_shape(params_, "table_params", {t, a, graph::row_fields});
    if (ids.ndim() != 2 || ids.shape(1) != v)
        throw py::value_error("ids: expected shape (N, " + std::to_string(v) + "), got " + intake::shape_text(ids));
    const i64 n = ids.shape(0);
    const i64* sizes = intake::input_sizes(input_size, a);

    const graph::Topology topo{v, op_.data(), offsets_.data(), inputs_.data(), like_.data()};
    graph::validate(topo);  // std::invalid_argument -> ValueError
    const graph::Table table{t, a, table_op_.data(), params_.data()};

    const std::vector<py::ssize_t> shape{n, v, a};
    std::array<py::array_t<i64>, n_values> values;
    for (auto& x : values) x = py::array_t<i64>(shape);
    py::array_t<std::uint8_t> flags(shape), status(std::vector<py::ssize_t>{n});
    py::array_t<i64> at(std::vector<py::ssize_t>{n});
    // The optional values (blind spots, extents): empty arrays unless asked for.
    const std::vector<py::ssize_t> detail_shape = detail ? shape : std::vector<py::ssize_t>{0, v, a};
    std::array<py::array_t<i64>, n_detail> extra;
    for (auto& x : extra) x = py::array_t<i64>(detail_shape);
    py::array_t<std::uint8_t> ext_state(detail_shape), simple(std::vector<py::ssize_t>{detail ? n : 0});
    const graph::Results out = results_of(values, flags.mutable_data(), status.mutable_data(), at.mutable_data(),
                                          detail ? &extra : nullptr, ext_state.mutable_data(), simple.mutable_data());
    bool done = true;
    intake::with_int_type(intake::int_kind(ids, "ids"), [&](auto tag) {
        using I = decltype(tag);
        const graph::Ids<I> view{static_cast<const char*>(ids.data()), intake::stride_of(ids, 0),
                                 intake::stride_of(ids, 1)};
        py::gil_scoped_release release;
        auto poll = [] {
            py::gil_scoped_acquire acquire;
            return PyErr_CheckSignals() != 0;  // leaves KeyboardInterrupt pending for below
        };
        done = graph::evaluate_sets(topo, table, view, n, sizes, out, threads, poll);
    });
    if (!done) throw py::error_already_set();
    py::dict d;
    put(d, value_names, values);
    d["flags"] = flags;
    d["status"] = status;
    d["at"] = at;
    if (detail) {
        put(d, detail_names, extra);
        d["ext_state"] = ext_state;
        d["simple"] = simple;
    }
    return d;
}

// One graph, from and to Python lists (no numpy: `rfsearch compute` of one graph starts fast).
// Node v takes table row v (merges: any; ignored). Returns flat (V * A) lists of every value,
// the optional ones included, and status, at, simple.
py::dict evaluate_graph_one(const std::vector<std::uint8_t>& op, const std::vector<i64>& input_offsets,
                            const std::vector<i64>& inputs, const std::vector<i64>& like,
                            const std::vector<i64>& params, i64 n_axes,
                            const std::optional<std::vector<i64>>& input_size) {
    const auto v = static_cast<i64>(op.size());
    intake::require_axes(n_axes);
    if (static_cast<i64>(input_offsets.size()) != v + 1 || static_cast<i64>(like.size()) != v ||
        static_cast<i64>(params.size()) != v * n_axes * graph::row_fields)
        throw py::value_error("evaluate_graph_one: input_offsets, like and params do not fit the nodes");
    if (input_offsets.back() != static_cast<i64>(inputs.size()))
        throw py::value_error("input_offsets: the last offset must be the number of inputs");
    const i64* sizes = intake::input_sizes(input_size, n_axes);
    const graph::Topology topo{v, op.data(), input_offsets.data(), inputs.data(), like.data()};
    graph::validate(topo);
    const graph::Table table{v, n_axes, op.data(), params.data()};
    std::vector<i64> rows(static_cast<std::size_t>(v));
    for (i64 i = 0; i < v; ++i) rows[static_cast<std::size_t>(i)] = i;
    const graph::Ids<i64> ids{reinterpret_cast<const char*>(rows.data()), 0, sizeof(i64)};
    const auto cells = static_cast<std::size_t>(v * n_axes);
    std::array<std::vector<i64>, n_values> values;
    std::array<std::vector<i64>, n_detail> extra;
    for (auto& x : values) x.resize(cells);
    for (auto& x : extra) x.resize(cells);
    std::vector<std::uint8_t> flags(cells), ext_state(cells), status(1), simple(1);
    i64 at = -1;
    const graph::Results out =
        results_of(values, flags.data(), status.data(), &at, &extra, ext_state.data(), simple.data());
    {
        py::gil_scoped_release release;
        graph::Workspace ws;
        graph::evaluate_set(topo, table, ids, 0, sizes, out, ws);
    }
    py::dict d;
    put(d, value_names, values);
    put(d, detail_names, extra);
    d["flags"] = std::vector<int>(flags.begin(), flags.end());
    d["ext_state"] = std::vector<int>(ext_state.begin(), ext_state.end());
    d["status"] = static_cast<int>(status[0]);
    d["at"] = at;
    d["simple"] = simple[0] != 0;
    return d;
}

}  // namespace

void register_graph(py::module_& m) {
    m.def("evaluate_graphs", &evaluate_graphs, py::kw_only(), py::arg("op"), py::arg("input_offsets"),
          py::arg("inputs"), py::arg("like"), py::arg("table_op"), py::arg("table_params"), py::arg("ids"),
          py::arg("input_size"), py::arg("threads"), py::arg("detail") = false,
          "Receptive fields of every node of N graphs sharing one topology: op (V,) uint8 op codes, "
          "input_offsets (V+1,) and inputs (E,) int64 (node v's inputs, -1 the network input), like (V,) int64, "
          "a table of T rows (table_op (T,) uint8, table_params (T, A, 8) int64) and ids (N, V) row ids of any "
          "integer dtype. Returns a dict of (N, V, A) arrays rf, rf_min, jump_num, jump_den, start, center2, size, "
          "period, flags (uint8) and (N,) arrays status (uint8) and at (int64). detail=True adds blind, ext_lo, "
          "ext_hi (int64), ext_state (uint8) (N, V, A) and simple (N,) uint8: blind spots (-1: none) and unit 0's "
          "extent over every path (ext_state 0: none, 1: sees nothing, 2: [ext_lo, ext_hi]), complete for sets "
          "whose simple is 1 (every path class of period 1).");
    m.def("evaluate_graph_one", &evaluate_graph_one, py::kw_only(), py::arg("op"), py::arg("input_offsets"),
          py::arg("inputs"), py::arg("like"), py::arg("params"), py::arg("n_axes"), py::arg("input_size"),
          "One graph of V nodes, as evaluate_graphs(..., detail=True) with lists: op (V,), input_offsets (V+1,), "
          "inputs, like (V,), params (V * n_axes * 8,) (node v's row; merges' ignored). Returns a dict of flat "
          "(V * n_axes) lists rf, rf_min, jump_num, jump_den, start, center2, size, period, flags, blind, ext_lo, "
          "ext_hi, ext_state, and status, at, simple.");
    py::dict codes;
    for (int s = 0; s < graph::n_graph_statuses; ++s)
        codes[graph::graph_status_name(static_cast<graph::GraphStatus>(s))] = s;
    m.attr("GRAPH_STATUS_CODES") = codes;
    py::dict flag_bits;
    flag_bits["whole_input"] = graph::flag::whole_input;
    flag_bits["context"] = graph::flag::context;
    flag_bits["has_rf"] = graph::flag::has_rf;
    flag_bits["has_jump"] = graph::flag::has_jump;
    flag_bits["has_start"] = graph::flag::has_start;
    flag_bits["has_size"] = graph::flag::has_size;
    flag_bits["misaligned"] = graph::flag::misaligned;
    flag_bits["evaluated"] = graph::flag::evaluated;
    m.attr("GRAPH_FLAGS") = flag_bits;
    py::dict ops;
    const char* names[graph::n_ops] = {"layer", "conv_transpose", "upsample", "pad", "crop", "crop_like",
                                       "adaptive_pool", "global", "add", "concat", "multiply"};
    for (int o = 0; o < graph::n_ops; ++o) ops[names[o]] = o;
    m.attr("GRAPH_OPS") = ops;
}

}  // namespace rfsearch::bind
