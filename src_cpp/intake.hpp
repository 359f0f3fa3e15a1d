// The one array intake of the binding: dtype dispatch, byte-strided views, shape checks.
// Every array argument of _core goes through here. User-facing validation (messages with
// positions, int64 ranges of Python ints) lives in Python; this re-checks the invariants the
// C++ relies on and refuses anything else with TypeError / ValueError naming the argument.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "rfsearch/batch.hpp"

namespace rfsearch::intake {

namespace py = pybind11;

inline std::string shape_text(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
    return s + (a.ndim() == 1 ? ",)" : ")");
}

inline std::string shape_text(std::initializer_list<i64> shape) {
    std::string s = "(";
    int d = 0;
    for (i64 v : shape) s += (d++ ? ", " : "") + std::to_string(v);
    return s + (shape.size() == 1 ? ",)" : ")");
}

// Native byte order: the views read raw memory (Python converts byte-swapped arrays first).
inline void require_native(const py::array& a, const char* name) {
    if (!a.dtype().attr("isnative").cast<bool>())
        throw py::value_error(std::string(name) + ": byte order is not native; convert with astype(dtype.newbyteorder('='))");
}

// The integer type of an array; TypeError unless it is a native-order integer array.
inline IntKind int_kind(const py::array& a, const char* name) {
    const py::dtype dt = a.dtype();
    const char kind = dt.kind();
    const auto size = dt.itemsize();
    if ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) {
        require_native(a, name);
        const int log2 = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
        return static_cast<IntKind>((kind == 'u' ? 4 : 0) + log2);
    }
    throw py::type_error(std::string(name) + ": expected an integer array, got dtype " + py::str(dt).cast<std::string>());
}

inline void require_bool(const py::array& a, const char* name) {
    if (a.dtype().kind() != 'b') throw py::type_error(std::string(name) + ": expected a bool array");
}

// A batch's first error as the dict rfsearch.errors.core_error words (None without one): the
// one mapping of a core error for every binding.
inline py::object error_dict(const BatchError& e) {
    if (!e.any()) return py::none();
    py::dict d;
    d["stack"] = e.stack;
    d["layer"] = e.layer;
    d["axis"] = e.axis;
    d["field"] = field_name(e.field);
    d["code"] = param_error_name(e.code);
    d["value"] = e.value_unsigned ? py::int_(static_cast<std::uint64_t>(e.value)) : py::int_(e.value);
    return d;
}

// The integer type shared by the five layer parameter arrays (TypeError otherwise), with the
// checked bool ceil_mode array: the one intake of a layer table, dense or by id.
inline IntKind layer_kind(const py::array& kernel, const py::array& stride, const py::array& padding,
                          const py::array& dilation, const py::array& padding_after, const py::array& ceil_mode) {
    const IntKind kind = int_kind(kernel, "kernel");
    const std::pair<const py::array*, const char*> others[] = {
        {&stride, "stride"}, {&padding, "padding"}, {&dilation, "dilation"}, {&padding_after, "padding_after"}};
    for (const auto& [array, name] : others)
        if (int_kind(*array, name) != kind)
            throw py::type_error("layer arrays must share one integer dtype (" + std::string(name) + " differs from kernel)");
    require_bool(ceil_mode, "ceil_mode");
    return kind;
}

// Calls f(T{}) with T the C++ type of kind.
template <class F>
decltype(auto) with_int_type(IntKind kind, F&& f) {
    switch (kind) {
        case IntKind::i8: return f(std::int8_t{});
        case IntKind::i16: return f(std::int16_t{});
        case IntKind::i32: return f(std::int32_t{});
        case IntKind::i64: return f(std::int64_t{});
        case IntKind::u8: return f(std::uint8_t{});
        case IntKind::u16: return f(std::uint16_t{});
        case IntKind::u32: return f(std::uint32_t{});
        case IntKind::u64: break;
    }
    return f(std::uint64_t{});
}

inline void require_shape(const py::array& a, const char* name, std::initializer_list<i64> shape) {
    bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
    int d = 0;
    for (i64 v : shape) ok = ok && a.shape(d++) == v;
    if (!ok) throw py::value_error(std::string(name) + ": expected shape " + shape_text(shape) + ", got " + shape_text(a));
}

// Byte stride of dimension d (0 where the dimension has one element: its stride is never used).
inline std::ptrdiff_t stride_of(const py::array& a, int d) {
    return a.shape(d) > 1 ? static_cast<std::ptrdiff_t>(a.strides(d)) : 0;
}

inline void require_itemsize(const py::array& a, const char* name, std::size_t size) {
    if (static_cast<std::size_t>(a.itemsize()) != size)
        throw py::type_error(std::string(name) + ": unexpected item size");
}

template <class T>
Strided3<T> view3(const py::array& a, const char* name, i64 n, i64 l, i64 ax) {
    require_shape(a, name, {n, l, ax});
    require_itemsize(a, name, sizeof(T));
    return {static_cast<const char*>(a.data()), stride_of(a, 0), stride_of(a, 1), stride_of(a, 2)};
}

template <class T>
Strided2<T> view2(const py::array& a, const char* name, i64 rows, i64 cols) {
    require_shape(a, name, {rows, cols});
    require_itemsize(a, name, sizeof(T));
    return {static_cast<const char*>(a.data()), stride_of(a, 0), stride_of(a, 1)};
}

// An optional (N,) integer array of any integer type.
inline AnyInts view_any1(const std::optional<py::array>& a, const char* name, i64 n) {
    if (!a) return {};
    const IntKind kind = int_kind(*a, name);
    require_shape(*a, name, {n});
    return {static_cast<const char*>(a->data()), stride_of(*a, 0), kind};
}

// Checked input sizes: A values >= 1, or none.
inline const i64* input_sizes(const std::optional<std::vector<i64>>& sizes, i64 n_axes) {
    if (!sizes) return nullptr;
    if (static_cast<i64>(sizes->size()) != n_axes)
        throw py::value_error("input_size: expected " + std::to_string(n_axes) + " values (one per axis), got " +
                              std::to_string(sizes->size()));
    for (i64 v : *sizes)
        if (v < 1) throw py::value_error("input_size: values must be >= 1, got " + std::to_string(v));
    return sizes->data();
}

inline void require_axes(i64 n_axes) {
    if (n_axes < 1 || n_axes > default_max_axes)
        throw py::value_error("the number of axes must be in [1, " + std::to_string(default_max_axes) + "], got " +
                              std::to_string(n_axes));
}

}  // namespace rfsearch::intake
