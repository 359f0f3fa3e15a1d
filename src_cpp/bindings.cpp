// The one pybind11 layer: array intake, output allocation, GIL release, Ctrl-C.
// The math lives in include/rfsearch/*.hpp; user-facing validation and messages live in
// Python (rfsearch/_core_wrap.py), which calls this with arrays it has already shaped.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "rfsearch/batch.hpp"

namespace py = pybind11;
using rfsearch::i64;

namespace {

const char* field_name(rfsearch::Field f) {
    switch (f) {
        case rfsearch::Field::kernel: return "kernel";
        case rfsearch::Field::stride: return "stride";
        case rfsearch::Field::dilation: return "dilation";
        case rfsearch::Field::padding: return "padding";
        case rfsearch::Field::padding_after: return "padding_after";
        case rfsearch::Field::depth: return "depth";
    }
    return "?";
}

// Why a parameter was refused; the Python side turns this into the message.
const char* reason(const rfsearch::BatchError& e) {
    if (e.value_too_large) return "too_large";
    if (e.field == rfsearch::Field::depth) return "depth_range";
    switch (e.code) {
        case rfsearch::Fold::same_needs_size: return "same_needs_size";
        case rfsearch::Fold::bad_padding: return "negative";
        case rfsearch::Fold::bad_padding_after: return "padding_after";
        default: return "below_one";
    }
}

template <class T>
rfsearch::Strided3<T> view3(const py::array& a, const char* name, i64 n, i64 l, i64 ax) {
    if (a.ndim() != 3 || a.shape(0) != n || a.shape(1) != l || a.shape(2) != ax)
        throw std::invalid_argument(std::string(name) + ": expected shape (N, L, A)");
    const auto item = static_cast<py::ssize_t>(sizeof(T));
    for (int d = 0; d < 3; ++d)
        if (a.strides(d) % item != 0) throw std::invalid_argument(std::string(name) + ": misaligned strides");
    return {static_cast<const T*>(a.data()), a.strides(0) / item, a.strides(1) / item, a.strides(2) / item};
}

template <class T, class D>
py::tuple score(const py::array& kernel, const py::array& stride, const py::array& dilation,
                const py::array& padding, const py::array& padding_after, const py::array& ceil_mode,
                const std::optional<py::array>& depth, const std::optional<std::vector<i64>>& input_size,
                int threads) {
    const i64 n = kernel.ndim() == 3 ? kernel.shape(0) : 0;
    const i64 l = kernel.ndim() == 3 ? kernel.shape(1) : 0;
    const i64 a = kernel.ndim() == 3 ? kernel.shape(2) : 0;
    rfsearch::StackBatch<T, D> b;
    b.kernel = view3<T>(kernel, "kernel", n, l, a);
    b.stride = view3<T>(stride, "stride", n, l, a);
    b.dilation = view3<T>(dilation, "dilation", n, l, a);
    b.pad_before = view3<T>(padding, "padding", n, l, a);
    b.pad_after = view3<T>(padding_after, "padding_after", n, l, a);
    b.ceil_mode = view3<std::uint8_t>(ceil_mode, "ceil_mode", n, l, a);
    b.n_stacks = n;
    b.n_layers = l;
    b.n_axes = a;
    if (depth) {
        if (depth->ndim() != 1 || depth->shape(0) != n) throw std::invalid_argument("depth: expected shape (N,)");
        b.depth = static_cast<const D*>(depth->data());
        b.depth_stride = depth->strides(0) / static_cast<py::ssize_t>(sizeof(D));
    }
    if (input_size) {
        if (static_cast<i64>(input_size->size()) != a) throw std::invalid_argument("input_size: expected A values");
        for (i64 v : *input_size)
            if (v < 1) throw std::invalid_argument("input_size: values must be >= 1");
        b.input_size = input_size->data();
    }

    // Outputs are allocated with the GIL held; the kernel then touches only raw pointers.
    py::array_t<i64> rf({n, a}), jump({n, a}), pad({n, a}), size({n, a});
    py::array_t<std::uint8_t> status({n, a});
    const rfsearch::StackResults r{rf.mutable_data(), jump.mutable_data(), pad.mutable_data(),
                                   size.mutable_data(), status.mutable_data()};
    rfsearch::BatchOutcome outcome;
    {
        py::gil_scoped_release release;
        auto poll = [] {
            py::gil_scoped_acquire acquire;
            return PyErr_CheckSignals() != 0;  // leaves KeyboardInterrupt pending for below
        };
        outcome = rfsearch::score_batch(b, r, threads, poll);
    }
    if (outcome.cancelled) throw py::error_already_set();
    py::object error = py::none();
    const auto& e = outcome.error;
    if (e.stack >= 0)
        error = py::make_tuple(e.stack, e.layer, e.axis, field_name(e.field), reason(e), e.value);
    return py::make_tuple(rf, jump, pad, size, status, error);
}

template <class T>
py::tuple score_depth(const py::array& kernel, const py::array& stride, const py::array& dilation,
                      const py::array& padding, const py::array& padding_after, const py::array& ceil_mode,
                      const std::optional<py::array>& depth, const std::optional<std::vector<i64>>& input_size,
                      int threads) {
    if (!depth || (depth->dtype().kind() == 'i' && depth->dtype().itemsize() == 8))
        return score<T, std::int64_t>(kernel, stride, dilation, padding, padding_after, ceil_mode, depth,
                                      input_size, threads);
    if (depth->dtype().kind() == 'i' && depth->dtype().itemsize() == 4)
        return score<T, std::int32_t>(kernel, stride, dilation, padding, padding_after, ceil_mode, depth,
                                      input_size, threads);
    throw std::invalid_argument("depth: dtype must be int32 or int64");
}

py::tuple score_stacks(const py::array& kernel, const py::array& stride, const py::array& dilation,
                       const py::array& padding, const py::array& padding_after, const py::array& ceil_mode,
                       const std::optional<py::array>& depth, const std::optional<std::vector<i64>>& input_size,
                       int threads) {
    const py::dtype dt = kernel.dtype();
    for (const py::array* other : {&stride, &dilation, &padding, &padding_after})
        if (!other->dtype().is(dt) && !other->dtype().equal(dt))
            throw std::invalid_argument("layer arrays must share one integer dtype");
    if (ceil_mode.dtype().kind() != 'b') throw std::invalid_argument("ceil_mode: dtype must be bool");
    const char kind = dt.kind();
    const auto size = dt.itemsize();
#define RFSEARCH_DISPATCH(T)                                                                              \
    return score_depth<T>(kernel, stride, dilation, padding, padding_after, ceil_mode, depth, input_size, \
                          threads)
    if (kind == 'i') {
        if (size == 1) RFSEARCH_DISPATCH(std::int8_t);
        if (size == 2) RFSEARCH_DISPATCH(std::int16_t);
        if (size == 4) RFSEARCH_DISPATCH(std::int32_t);
        if (size == 8) RFSEARCH_DISPATCH(std::int64_t);
    } else if (kind == 'u') {
        if (size == 1) RFSEARCH_DISPATCH(std::uint8_t);
        if (size == 2) RFSEARCH_DISPATCH(std::uint16_t);
        if (size == 4) RFSEARCH_DISPATCH(std::uint32_t);
        if (size == 8) RFSEARCH_DISPATCH(std::uint64_t);
    }
#undef RFSEARCH_DISPATCH
    throw std::invalid_argument("layer arrays must have an integer dtype");
}

}  // namespace

PYBIND11_MODULE(_core, m, py::mod_gil_not_used()) {
    m.doc() = "rfsearch compiled core (private: use rfsearch.score_stacks)";
    m.attr("PAD_SAME") = rfsearch::pad_same;
    m.def("score_stacks", &score_stacks, py::arg("kernel"), py::arg("stride"), py::arg("dilation"),
          py::arg("padding"), py::arg("padding_after"), py::arg("ceil_mode"), py::arg("depth"),
          py::arg("input_size"), py::arg("threads"),
          "Score N stacks given (N, L, A) layer arrays of one integer dtype and a (N, L, A) bool "
          "ceil_mode array. Returns (rf, jump, padding, size, status, error) where error is None or "
          "(stack, layer, axis, field, reason, value) for the first invalid parameter.");
    m.def("hardware_threads", [] { return rfsearch::resolve_threads(0); },
          "Number of threads used when threads <= 0.");
}
