// rfsearch._core: the compiled core, private (the API is rfsearch.batch_receptive_fields,
// rfsearch.receptive_fields_by_id, ...). One module, its parts registered by area
// (boost-histogram's register_*.cpp): bind_batch.cpp (the batch paths), bind_info.cpp (status
// codes, build information, SIMD path override, counters).
#include <pybind11/pybind11.h>

#include "register.hpp"

PYBIND11_MODULE(_core, m, pybind11::mod_gil_not_used()) {
    m.doc() = "rfsearch compiled core (private: use rfsearch.batch_receptive_fields and friends)";
    rfsearch::bind::register_info(m);
    rfsearch::bind::register_batch(m);
    rfsearch::bind::register_count(m);
    rfsearch::bind::register_sweep(m);
    rfsearch::bind::register_graph(m);
    rfsearch::bind::register_erf(m);
}
