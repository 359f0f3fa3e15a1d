// The batch paths: dense arrays, a layer table plus row ids, and the per-layer mode.
// Outputs are allocated with the GIL held; the kernels then touch only raw pointers with the GIL
// released, on threads, polling for Ctrl-C between chunks.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "intake.hpp"
#include "register.hpp"
#include "rfsearch/batch.hpp"

namespace py = pybind11;

namespace rfsearch::bind {

namespace {

using intake::error_dict;
using intake::int_kind;
using intake::layer_kind;
using intake::with_int_type;

struct Outputs {
    py::array_t<i64> rf, jump, padding, size;
    py::array_t<std::uint8_t> status;

    explicit Outputs(const std::vector<py::ssize_t>& shape)
        : rf(shape), jump(shape), padding(shape), size(shape), status(shape) {}
    StackResults raw() {
        return {rf.mutable_data(), jump.mutable_data(), padding.mutable_data(), size.mutable_data(),
                status.mutable_data()};
    }
};

// Runs `batch(poll)` without the GIL; returns the outputs and the first error as a dict.
template <class Batch>
py::dict run(Outputs& out, Batch&& batch) {
    BatchOutcome outcome;
    {
        py::gil_scoped_release release;
        auto poll = [] {
            py::gil_scoped_acquire acquire;
            return PyErr_CheckSignals() != 0;  // leaves KeyboardInterrupt pending for below
        };
        outcome = batch(poll);
    }
    record_fast_stats(outcome.stats);
    if (outcome.cancelled) throw py::error_already_set();
    py::dict d;
    d["rf"] = out.rf;
    d["jump"] = out.jump;
    d["padding"] = out.padding;
    d["size"] = out.size;
    d["status"] = out.status;
    d["error"] = error_dict(outcome.error);
    return d;
}

py::dict batch_receptive_fields(const py::array& kernel, const py::array& stride, const py::array& padding,
                                const py::array& dilation, const py::array& padding_after, const py::array& ceil_mode,
                                const std::optional<py::array>& depth,
                                const std::optional<std::vector<i64>>& input_size, i64 threads) {
    if (kernel.ndim() != 3) throw py::value_error("kernel: expected shape (N, L, A), got " + intake::shape_text(kernel));
    const i64 n = kernel.shape(0), l = kernel.shape(1), a = kernel.shape(2);
    intake::require_axes(a);
    const IntKind kind = layer_kind(kernel, stride, padding, dilation, padding_after, ceil_mode);
    const StackSet set{n, l, a, intake::input_sizes(input_size, a), intake::view_any1(depth, "depth", n)};
    Outputs out({n, a});
    return with_int_type(kind, [&](auto tag) {
        using T = decltype(tag);
        const DenseLayers<T> src{intake::view3<T>(kernel, "kernel", n, l, a), intake::view3<T>(stride, "stride", n, l, a),
                                 intake::view3<T>(dilation, "dilation", n, l, a),
                                 intake::view3<T>(padding, "padding", n, l, a),
                                 intake::view3<T>(padding_after, "padding_after", n, l, a),
                                 intake::view3<std::uint8_t>(ceil_mode, "ceil_mode", n, l, a)};
        const StackResults r = out.raw();
        return run(out, [&](auto& poll) { return score_batch(set, src, r, threads, poll); });
    });
}

// Both by-id entries: scores (per_layer false, results (N, A)) or per-layer states (results (N, L, A)).
py::dict by_id(bool per_layer, const py::array& kernel, const py::array& stride, const py::array& padding,
               const py::array& dilation, const py::array& padding_after, const py::array& ceil_mode,
               const py::array& ids, const std::optional<py::array>& depth,
               const std::optional<std::vector<i64>>& input_size, i64 threads) {
    if (kernel.ndim() != 2) throw py::value_error("kernel: expected table shape (T, A), got " + intake::shape_text(kernel));
    const i64 t = kernel.shape(0), a = kernel.shape(1);
    intake::require_axes(a);
    if (ids.ndim() != 2) throw py::value_error("ids: expected shape (N, L), got " + intake::shape_text(ids));
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
    Outputs out(per_layer ? std::vector<py::ssize_t>{n, l, a} : std::vector<py::ssize_t>{n, a});
    return with_int_type(id_kind, [&](auto tag) {
        using I = decltype(tag);
        const IdLayers<I> src{intake::view2<I>(ids, "ids", n, l), &table};
        const StackResults r = out.raw();
        return run(out, [&](auto& poll) {
            return per_layer ? fold_batch_layers(set, src, r, threads, poll) : score_batch(set, src, r, threads, poll);
        });
    });
}

}  // namespace

void register_batch(py::module_& m) {
    m.def("batch_receptive_fields", &batch_receptive_fields, py::kw_only(), py::arg("kernel"), py::arg("stride"),
          py::arg("padding"), py::arg("dilation"), py::arg("padding_after"), py::arg("ceil_mode"), py::arg("depth"),
          py::arg("input_size"), py::arg("threads"),
          "Receptive fields of N stacks from (N, L, A) parameter arrays of one integer dtype (any strides) and a "
          "bool ceil_mode array; depth (N,) any integer dtype or None. Returns a dict of (N, A) arrays rf, jump, "
          "padding, size, status and error: None or a dict (stack, layer, axis, field, code, value) of the first "
          "invalid input.");
    auto by_id_doc = [](const char* what) {
        return std::string(what) +
               " of N stacks given as (N, L) row ids (any integer dtype) into a table of T layers: kernel ... "
               "ceil_mode are (T, A) columns. Returns a dict as batch_receptive_fields does.";
    };
    static const std::string scores_doc = by_id_doc("Receptive fields (results (N, A))");
    static const std::string layers_doc = by_id_doc("The state after every layer (results (N, L, A))");
    m.def(
        "receptive_fields_by_id",
        [](const py::array& kernel, const py::array& stride, const py::array& padding, const py::array& dilation,
           const py::array& padding_after, const py::array& ceil_mode, const py::array& ids,
           const std::optional<py::array>& depth, const std::optional<std::vector<i64>>& input_size, i64 threads) {
            return by_id(false, kernel, stride, padding, dilation, padding_after, ceil_mode, ids, depth, input_size,
                         threads);
        },
        py::kw_only(), py::arg("kernel"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
        py::arg("padding_after"), py::arg("ceil_mode"), py::arg("ids"), py::arg("depth"), py::arg("input_size"),
        py::arg("threads"), scores_doc.c_str());
    m.def(
        "layer_receptive_fields_by_id",
        [](const py::array& kernel, const py::array& stride, const py::array& padding, const py::array& dilation,
           const py::array& padding_after, const py::array& ceil_mode, const py::array& ids,
           const std::optional<py::array>& depth, const std::optional<std::vector<i64>>& input_size, i64 threads) {
            return by_id(true, kernel, stride, padding, dilation, padding_after, ceil_mode, ids, depth, input_size,
                         threads);
        },
        py::kw_only(), py::arg("kernel"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
        py::arg("padding_after"), py::arg("ceil_mode"), py::arg("ids"), py::arg("depth"), py::arg("input_size"),
        py::arg("threads"), layers_doc.c_str());
}

}  // namespace rfsearch::bind
