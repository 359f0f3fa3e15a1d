// What the binding's files share besides the array intake: their register_* functions (called by
// module.cpp) and the fast-path counters (kept by bind_info.cpp, fed by bind_batch.cpp).
#pragma once

#include <pybind11/pybind11.h>

#include "rfsearch/batch.hpp"

namespace rfsearch::bind {

void register_batch(pybind11::module_& m);
void register_count(pybind11::module_& m);
void register_graph(pybind11::module_& m);
void register_erf(pybind11::module_& m);
void register_info(pybind11::module_& m);
void register_sweep(pybind11::module_& m);

// Adds one batch's counts to the totals _core._fast_path_counters() reports.
void record_fast_stats(const FastStats& stats) noexcept;

}  // namespace rfsearch::bind
