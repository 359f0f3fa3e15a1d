// Status codes shared with Python, build information, the SIMD path override and counters.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <string>

#include "register.hpp"
#include "rfsearch/batch.hpp"

namespace py = pybind11;

namespace rfsearch::bind {

namespace {
std::atomic<i64> fast_blocks{0}, scalar_reruns{0}, scalar_stacks{0};

std::string compiler() {
#if defined(__clang__)
    return "Clang";
#elif defined(__GNUC__)
    return "GCC";
#elif defined(_MSC_VER)
    return "MSVC";
#else
    return "unknown";
#endif
}

std::string compiler_version() {
#if defined(__clang__)
    return std::to_string(__clang_major__) + "." + std::to_string(__clang_minor__) + "." +
           std::to_string(__clang_patchlevel__);
#elif defined(__GNUC__)
    return std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." + std::to_string(__GNUC_PATCHLEVEL__);
#elif defined(_MSC_VER)
    return std::to_string(_MSC_FULL_VER);
#else
    return "unknown";
#endif
}

py::list path_names(bool (*keep)(SimdPath)) {
    py::list out;
    for (int p = 0; p < n_simd_paths; ++p)
        if (keep(static_cast<SimdPath>(p))) out.append(simd_path_name(static_cast<SimdPath>(p)));
    return out;
}

py::dict build_info() {
    py::dict d;
    d["compiler"] = compiler();
    d["compiler_version"] = compiler_version();
    d["cplusplus"] = static_cast<long>(__cplusplus);
    d["simd_path"] = simd_path_name(simd_path());
    d["simd_paths_compiled"] = path_names([](SimdPath p) { return simd_path_compiled(p); });
    d["simd_paths_supported"] = path_names([](SimdPath p) { return simd_path_supported(p); });
    d["runtime_dispatch"] = static_cast<bool>(RFSEARCH_SIMD_DISPATCH);
    d["overflow_builtins"] = static_cast<bool>(RFSEARCH_OVERFLOW_BUILTINS);
    d["max_axes"] = default_max_axes;
    d["hardware_threads"] = max_threads();
    return d;
}

void set_path(const std::string& name) {
    for (int p = 0; p < n_simd_paths; ++p) {
        const auto path = static_cast<SimdPath>(p);
        if (name != simd_path_name(path)) continue;
        if (!set_simd_path(path))
            throw py::value_error("SIMD path '" + name + "' is not available here (supported: " +
                                  py::str(py::make_tuple(path_names([](SimdPath q) { return simd_path_supported(q); })))
                                      .cast<std::string>() +
                                  ")");
        return;
    }
    throw py::value_error("unknown SIMD path '" + name + "': one of scalar, baseline, v3, v4");
}
}  // namespace

void record_fast_stats(const FastStats& stats) noexcept {
    fast_blocks += stats.fast_blocks;
    scalar_reruns += stats.scalar_reruns;
    scalar_stacks += stats.scalar_stacks;
}

void register_info(py::module_& m) {
    py::dict statuses, errors, fields;
    for (int i = 0; i < n_statuses; ++i) statuses[status_name(static_cast<Status>(i))] = i;
    for (int i = 0; i < n_param_errors; ++i) errors[param_error_name(static_cast<ParamError>(i))] = i;
    for (int i = 0; i < n_fields; ++i) fields[field_name(static_cast<Field>(i))] = i;
    m.attr("STATUS_CODES") = statuses;
    m.attr("PARAM_ERRORS") = errors;
    m.attr("FIELDS") = fields;
    m.attr("PAD_SAME") = pad_same;
    m.attr("MAX_AXES") = default_max_axes;

    m.def("build_info", &build_info,
          "Compiler and version, the SIMD path batch scoring uses now (simd_path), the paths compiled in and "
          "those this CPU supports, whether runtime dispatch is compiled in, and whether checked arithmetic uses "
          "compiler builtins.");
    m.def("hardware_threads", &max_threads, "Threads used for threads <= 0 (and the most any call uses).");
    m.def("_set_simd_path", &set_path, py::arg("name"),
          "For tests: run batch scoring on SIMD path 'scalar', 'baseline', 'v3' or 'v4' (ValueError if this CPU "
          "or build lacks it).");
    m.def("_fast_path_counters", [] {
        py::dict d;
        d["fast_blocks"] = fast_blocks.load();
        d["scalar_reruns"] = scalar_reruns.load();
        d["scalar_stacks"] = scalar_stacks.load();
        return d;
    }, "Totals since the last reset: blocks done by the fast path, blocks it handed to the scalar path, stacks "
       "done by the scalar path.");
    m.def("_reset_fast_path_counters", [] {
        fast_blocks = 0;
        scalar_reruns = 0;
        scalar_stacks = 0;
    }, "Sets the fast-path counters to zero.");
}

}  // namespace rfsearch::bind
