// The exact uniform-weight ERF (rfsearch/erf.hpp): path counts of a chain or of one unit of a graph.
// Arrays in are int64 (the Python side builds them); counts come back as int64, or as float64 when
// an int64 count would overflow (`exact` False). The GIL is released while counting.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "register.hpp"
#include "rfsearch/erf.hpp"

namespace py = pybind11;

namespace rfsearch::bind {

namespace {

using Int64s = py::array_t<i64, py::array::c_style>;

// An int64 array of the given number of dimensions (TypeError for any other dtype: no silent casts).
Int64s int64_array(const py::array& a, const char* name, py::ssize_t ndim) {
    if (!a.dtype().is(py::dtype::of<i64>()))
        throw py::type_error(std::string(name) + ": expected an int64 array");
    if (a.ndim() != ndim)
        throw py::value_error(std::string(name) + ": expected " + std::to_string(ndim) + " dimensions");
    return Int64s::ensure(a);
}

template <class Num>
py::array to_array(const std::vector<Num>& counts, const erf::Box& box) {
    std::vector<py::ssize_t> shape;
    for (std::size_t a = 0; a < box.lo.size(); ++a) shape.push_back(static_cast<py::ssize_t>(box.extent(a)));
    if (box.empty()) shape.assign(box.lo.size(), 0);
    py::array_t<Num> out(shape);
    std::copy(counts.begin(), counts.end(), out.mutable_data());
    return std::move(out);
}

py::dict graph_erf(int ndim, const py::array& sizes, const py::array& consumer, const py::array& producer,
                   const py::array& period, const py::array& shift, const py::array& offset, const py::array& first,
                   const py::array& step, const py::array& count, int target, const std::vector<i64>& unit,
                   bool borders) {
    if (ndim < 1) throw py::value_error("ndim must be >= 1");
    const auto sz = int64_array(sizes, "sizes", 2);
    const auto cons = int64_array(consumer, "consumer", 1), prod = int64_array(producer, "producer", 1);
    const auto per = int64_array(period, "period", 2), sh = int64_array(shift, "shift", 2),
               off = int64_array(offset, "offset", 2);
    const auto fi = int64_array(first, "first", 1), st = int64_array(step, "step", 1), co = int64_array(count, "count", 1);
    const py::ssize_t edges = cons.shape(0), phases = fi.shape(0);
    if (sz.shape(1) != ndim || prod.shape(0) != edges || per.shape(0) != edges || sh.shape(0) != edges ||
        off.shape(0) != edges || per.shape(1) != ndim || sh.shape(1) != ndim || off.shape(1) != ndim ||
        st.shape(0) != phases || co.shape(0) != phases)
        throw py::value_error("graph_erf: array shapes disagree");
    erf::Problem pb;
    pb.nodes = static_cast<int>(sz.shape(0));
    pb.ndim = ndim;
    pb.size.assign(sz.data(), sz.data() + sz.size());
    pb.target = target;
    pb.unit = unit;
    pb.borders = borders;
    for (py::ssize_t e = 0; e < edges; ++e) {
        erf::Edge edge;
        edge.consumer = static_cast<int>(cons.at(e));
        edge.producer = static_cast<int>(prod.at(e));
        for (py::ssize_t a = 0; a < ndim; ++a) {
            erf::AxisWindow w;
            w.period = per.at(e, a);
            w.shift = sh.at(e, a);
            const i64 o = off.at(e, a);
            if (o < 0 || w.period < 1 || o + w.period > phases) throw py::value_error("graph_erf: bad phase offsets");
            w.first.assign(fi.data() + o, fi.data() + o + w.period);
            w.step.assign(st.data() + o, st.data() + o + w.period);
            w.count.assign(co.data() + o, co.data() + o + w.period);
            edge.axes.push_back(std::move(w));
        }
        pb.edges.push_back(std::move(edge));
    }
    py::dict d;
    bool exact = true;
    erf::Result<i64> ints;
    erf::Result<double> reals;
    {
        py::gil_scoped_release release;
        try {
            ints = erf::graph_erf<i64>(pb);
        } catch (const std::overflow_error&) {
            exact = false;
            reals = erf::graph_erf<double>(pb);
        }
    }
    const erf::Box& box = exact ? ints.box : reals.box;
    d["lo"] = box.lo;
    d["hi"] = box.hi;
    d["counts"] = exact ? to_array(ints.counts, box) : to_array(reals.counts, box);
    d["exact"] = exact;
    return d;
}

py::dict chain_erf(const py::array& kernel, const py::array& stride, const py::array& dilation) {
    const auto k = int64_array(kernel, "kernel", 1), s = int64_array(stride, "stride", 1),
               dl = int64_array(dilation, "dilation", 1);
    if (s.shape(0) != k.shape(0) || dl.shape(0) != k.shape(0)) throw py::value_error("chain_erf: array shapes disagree");
    bool exact = true;
    std::vector<i64> ints;
    std::vector<double> reals;
    {
        py::gil_scoped_release release;
        try {
            ints = erf::chain_erf<i64>(k.data(), s.data(), dl.data(), k.shape(0));
        } catch (const std::overflow_error& e) {
            if (std::string(e.what()).find("path counts") == std::string::npos) throw;
            exact = false;
            reals = erf::chain_erf<double>(k.data(), s.data(), dl.data(), k.shape(0));
        }
    }
    py::dict d;
    if (exact) {
        py::array_t<i64> out(static_cast<py::ssize_t>(ints.size()));
        std::copy(ints.begin(), ints.end(), out.mutable_data());
        d["counts"] = out;
    } else {
        py::array_t<double> out(static_cast<py::ssize_t>(reals.size()));
        std::copy(reals.begin(), reals.end(), out.mutable_data());
        d["counts"] = out;
    }
    d["exact"] = exact;
    return d;
}

}  // namespace

void register_erf(py::module_& m) {
    m.def("graph_erf", &graph_erf, py::kw_only(), py::arg("ndim"), py::arg("sizes"), py::arg("consumer"),
          py::arg("producer"), py::arg("period"), py::arg("shift"), py::arg("offset"), py::arg("first"),
          py::arg("step"), py::arg("count"), py::arg("target"), py::arg("unit"), py::arg("borders"),
          "Path counts from one unit of node `target` to the input (node 0), over edges consumer <- producer with "
          "periodic windows per axis (one period of first/step/count at offset). Returns a dict: lo, hi (the input "
          "box per axis), counts (int64, or float64 when int64 overflows) and exact.");
    m.def("chain_erf", &chain_erf, py::kw_only(), py::arg("kernel"), py::arg("stride"), py::arg("dilation"),
          "Path counts of a chain on one axis: the convolution of each layer's tap indicator scaled by the jump "
          "(int64 arrays of L layers). Returns a dict: counts (positions 0 .. rf-1) and exact.");
}

}  // namespace rfsearch::bind
