// The sweep engine (enumerate.hpp) for Python: _core.SweepPlan, built once per space by
// rfsearch/search/sweep.py, then run many times (restrictions, task ranges). Runs release the
// GIL; the calling thread polls for Ctrl-C and writes streamed rows through the sink.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "register.hpp"
#include "rfsearch/enumerate.hpp"

namespace py = pybind11;

namespace rfsearch::bind {

namespace {

using sweep::Plan;
using sweep::Range;
using sweep::Restriction;
using sweep::u32;
using sweep::Vec;

using OptRange = std::optional<std::pair<i64, i64>>;
using Seed = std::pair<std::vector<i64>, std::vector<u32>>;  // a known stack: objective vector, choices

std::vector<i64> column(const std::vector<i64>& values, std::size_t n, const char* name) {
    if (values.size() != n) throw py::value_error(std::string("SweepPlan: ") + name + " has the wrong length");
    return values;
}

void set_ranges(std::array<Range, sweep::max_axes>& out, const std::vector<OptRange>& ranges, int axes, const char* name) {
    if (static_cast<int>(ranges.size()) != axes)
        throw py::value_error(std::string("SweepPlan: ") + name + " needs one entry per axis");
    for (int a = 0; a < axes; ++a) {
        const auto& r = ranges[static_cast<std::size_t>(a)];
        if (r) out[static_cast<std::size_t>(a)] = Range{true, r->first, r->second};
    }
}

Plan make_plan(int axes, int depth_lo, int depth_hi, const std::vector<i64>& kernel, const std::vector<i64>& stride,
               const std::vector<i64>& dilation, const std::vector<i64>& pad_before, const std::vector<i64>& pad_after,
               const std::vector<bool>& ceil_mode, const std::vector<int>& kinds, const std::vector<i64>& first,
               const std::vector<i64>& count, const std::optional<std::vector<i64>>& input_size, i64 max_downsampling,
               unsigned stride_on, const std::optional<std::tuple<i64, std::vector<i64>, bool>>& channels,
               const std::vector<OptRange>& rf, const std::vector<OptRange>& jump, const std::vector<OptRange>& size,
               bool rf_within_input, bool coverage, i64 reach_cap, i64 max_params, i64 max_macs,
               const std::vector<int>& objectives) {
    if (axes < 1 || axes > sweep::max_axes) throw py::value_error("SweepPlan: axes must be in [1, 8]");
    sweep::SpaceDef d;
    d.axes = axes;
    d.depth_lo = depth_lo;
    d.depth_hi = depth_hi;
    const std::size_t n = kinds.size() * static_cast<std::size_t>(axes);
    const auto k = column(kernel, n, "kernel"), s = column(stride, n, "stride"), dl = column(dilation, n, "dilation"),
               pb = column(pad_before, n, "pad_before"), pa = column(pad_after, n, "pad_after");
    if (ceil_mode.size() != n) throw py::value_error("SweepPlan: ceil_mode has the wrong length");
    d.rows.resize(n);
    for (std::size_t i = 0; i < n; ++i) d.rows[i] = LayerParams{k[i], s[i], dl[i], pb[i], pa[i], ceil_mode[i]};
    for (int kind : kinds) {
        if (kind < 0 || kind > 2) throw py::value_error("SweepPlan: kind codes are 0, 1, 2");
        d.kinds.push_back(static_cast<sweep::Kind>(kind));
    }
    d.first = first;
    d.count = count;
    if (input_size) {
        if (static_cast<int>(input_size->size()) != axes) throw py::value_error("SweepPlan: one input size per axis");
        d.sized = true;
        for (int a = 0; a < axes; ++a) d.input[static_cast<std::size_t>(a)] = (*input_size)[static_cast<std::size_t>(a)];
    }
    d.max_downsampling = max_downsampling;
    d.stride_on = stride_on;
    if (channels) {
        d.channels = true;
        d.channels_in = std::get<0>(*channels);
        d.widths = std::get<1>(*channels);
        d.bias = std::get<2>(*channels);
    }
    set_ranges(d.rf, rf, axes, "rf");
    set_ranges(d.jump, jump, axes, "jump");
    set_ranges(d.size, size, axes, "size");
    d.rf_within_input = rf_within_input;
    d.coverage = coverage;
    d.reach_cap = reach_cap;
    d.max_params = max_params;
    d.max_macs = max_macs;
    for (int o : objectives) {
        if (o < 0 || o > 3) throw py::value_error("SweepPlan: objective codes are 0..3");
        d.objectives.push_back(static_cast<sweep::Objective>(o));
    }
    return Plan(std::move(d));
}

// Task rows from Python: an (n, split) int32 array (C order).
struct Tasks {
    py::array_t<std::int32_t, py::array::c_style | py::array::forcecast> rows;
    i64 n = 0;
    int split = 0;
};

Tasks task_array(const py::array& tasks) {
    if (!py::isinstance<py::array_t<std::int32_t>>(tasks))
        throw py::type_error("tasks must be an int32 array of shape (n, split)");
    Tasks t{py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>::ensure(tasks)};
    if (t.rows.ndim() != 2) throw py::value_error("tasks must have shape (n, split)");
    t.n = t.rows.shape(0);
    t.split = static_cast<int>(t.rows.shape(1));
    return t;
}

py::tuple found_tuple(const sweep::Found& f, int n_obj) {
    py::tuple vec(n_obj);
    for (int i = 0; i < n_obj; ++i) vec[static_cast<std::size_t>(i)] = py::int_(f.vec[static_cast<std::size_t>(i)]);
    py::tuple choices(f.choices.size());
    for (std::size_t i = 0; i < f.choices.size(); ++i) choices[i] = py::int_(f.choices[i]);
    return py::make_tuple(vec, choices);
}

Vec to_vec(const std::vector<i64>& values) {
    if (values.size() > static_cast<std::size_t>(sweep::max_objectives)) throw py::value_error("too many objectives");
    Vec v{};
    for (std::size_t i = 0; i < values.size(); ++i) v[i] = values[i];
    return v;
}

py::dict run(const Plan& plan, const Restriction& r, const py::array& task_rows, bool prune, bool counts, i64 top,
             i64 threads, i64 stream_rows, const py::object& sink, const std::optional<Seed>& seed_kth,
             const std::vector<Seed>& seed_front) {
    const Tasks tasks = task_array(task_rows);
    if (tasks.split > r.depth_hi) throw py::value_error("tasks are longer than the depth");
    if (stream_rows < 0) throw py::value_error("stream_rows must be >= 0");
    if (stream_rows > 0 && sink.is_none()) throw py::value_error("streaming needs a sink");
    sweep::Config cfg;
    cfg.prune = prune;
    cfg.counts = counts;
    cfg.top = top;
    cfg.threads = static_cast<int>(std::clamp<i64>(threads, -1, 1 << 16));
    cfg.stream_rows = stream_rows;
    if (seed_kth) {
        cfg.seed_kth_given = true;
        cfg.seed_kth = sweep::Found{to_vec(seed_kth->first), seed_kth->second};
    }
    for (const auto& [v, c] : seed_front) cfg.seed_front.push_back(sweep::Found{to_vec(v), c});

    std::exception_ptr sink_error;
    sweep::Outcome outcome;
    {
        py::gil_scoped_release release;
        auto poll = [] {
            py::gil_scoped_acquire acquire;
            return PyErr_CheckSignals() != 0;  // leaves KeyboardInterrupt pending for below
        };
        sweep::Control::Sink write;
        if (stream_rows > 0) {
            write = [&](const sweep::Chunk& c) {
                py::gil_scoped_acquire acquire;
                try {
                    py::array_t<i64> rows({static_cast<py::ssize_t>(c.rows), static_cast<py::ssize_t>(c.width)});
                    std::copy(c.data.begin(), c.data.end(), rows.mutable_data());
                    sink(rows);
                    return true;
                } catch (...) {
                    sink_error = std::current_exception();
                    return false;
                }
            };
        }
        outcome = sweep::with_axes(plan.axes(), [&](auto axes) {
            return sweep::run_tasks<decltype(axes)::value>(plan, r, cfg, tasks.rows.data(), tasks.n, tasks.split, poll,
                                                            write);
        });
    }
    if (sink_error) std::rethrow_exception(sink_error);
    if (outcome.cancelled) {
        if (!PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);  // a cancel comes from a signal
        throw py::error_already_set();
    }
    const int n_obj = plan.n_objectives(), axes = plan.axes();
    const auto n_hist = static_cast<py::ssize_t>(outcome.hist_counts.size());
    py::array_t<i64> keys({n_hist, static_cast<py::ssize_t>(axes)});
    py::array_t<std::uint64_t> counts_out(n_hist);
    std::copy(outcome.hist_keys.begin(), outcome.hist_keys.end(), keys.mutable_data());
    std::copy(outcome.hist_counts.begin(), outcome.hist_counts.end(), counts_out.mutable_data());
    py::list top_out, front_out;
    for (const auto& f : outcome.top) top_out.append(found_tuple(f, n_obj));
    for (const auto& f : outcome.front) front_out.append(found_tuple(f, n_obj));
    py::dict d;
    d["visited"] = py::int_(outcome.visited);
    d["folds"] = py::int_(outcome.folds);
    d["feasible"] = py::int_(outcome.feasible);
    d["hist_rf"] = keys;
    d["hist_count"] = counts_out;
    d["top"] = top_out;
    d["front"] = front_out;
    return d;
}

}  // namespace

void register_sweep(py::module_& m) {
    py::class_<Restriction>(m, "SweepRestriction", "Which stacks a sweep run covers (from SweepPlan.restrict).")
        .def_readonly("depth_lo", &Restriction::depth_lo)
        .def_readonly("depth_hi", &Restriction::depth_hi);

    py::class_<Plan>(m, "SweepPlan", "A search space compiled for the sweep engine (rfsearch.search.sweep builds it).")
        .def(py::init(&make_plan), py::kw_only(), py::arg("axes"), py::arg("depth_lo"), py::arg("depth_hi"),
             py::arg("kernel"), py::arg("stride"), py::arg("dilation"), py::arg("pad_before"), py::arg("pad_after"),
             py::arg("ceil_mode"), py::arg("kinds"), py::arg("first"), py::arg("count"), py::arg("input_size"),
             py::arg("max_downsampling"), py::arg("stride_on"), py::arg("channels"), py::arg("rf"), py::arg("jump"),
             py::arg("size"), py::arg("rf_within_input"), py::arg("coverage"), py::arg("reach_cap"),
             py::arg("max_params"), py::arg("max_macs"), py::arg("objectives"))
        .def(
            "restrict",
            [](const Plan& p, int lo, int hi, const std::vector<std::vector<u32>>& allowed) {
                return p.restriction(lo, hi, allowed);
            },
            py::arg("depth_lo"), py::arg("depth_hi"), py::arg("allowed"),
            "A restriction: depth range and per position the allowed choice indices (ascending; [] = all).")
        .def(
            "tasks",
            [](const Plan& p, const Restriction& r, bool prune, i64 min_tasks, i64 max_tasks) {
                sweep::TaskList t;
                {
                    py::gil_scoped_release release;
                    t = sweep::with_axes(p.axes(), [&](auto axes) {
                        return sweep::make_tasks<decltype(axes)::value>(p, r, prune, min_tasks, max_tasks);
                    });
                }
                py::array_t<std::int32_t> rows({static_cast<py::ssize_t>(t.n), static_cast<py::ssize_t>(t.split)});
                std::copy(t.rows.begin(), t.rows.end(), rows.mutable_data());
                return rows;
            },
            py::arg("restriction"), py::arg("prune"), py::arg("min_tasks"), py::arg("max_tasks"),
            "The task prefixes, an (n, split) int32 array (a first row of -1: the shallow task).")
        .def(
            "weights",
            [](const Plan& p, const Restriction& r, bool prune, const py::array& task_rows, int probe) {
                const Tasks tasks = task_array(task_rows);
                std::vector<i64> w;
                {
                    py::gil_scoped_release release;
                    w = sweep::with_axes(p.axes(), [&](auto axes) {
                        return sweep::task_weights<decltype(axes)::value>(p, r, prune, tasks.rows.data(), tasks.n,
                                                                          tasks.split, probe);
                    });
                }
                py::array_t<i64> out(static_cast<py::ssize_t>(w.size()));
                std::copy(w.begin(), w.end(), out.mutable_data());
                return out;
            },
            py::arg("restriction"), py::arg("prune"), py::arg("tasks"), py::arg("probe"),
            "Per task 1 + its live nodes within `probe` levels (shard balancing).")
        .def(
            "estimate",
            [](const Plan& p, const Restriction& r, bool prune, int samples, std::uint64_t seed) {
                py::gil_scoped_release release;
                return sweep::with_axes(p.axes(), [&](auto axes) {
                    return sweep::estimate_nodes<decltype(axes)::value>(p, r, prune, samples, seed);
                });
            },
            py::arg("restriction"), py::arg("prune"), py::arg("samples"), py::arg("seed"),
            "Knuth's estimate of the number of nodes a run visits.")
        .def("run", &run, py::arg("restriction"), py::arg("tasks"), py::kw_only(), py::arg("prune"), py::arg("counts"),
             py::arg("top"), py::arg("threads"), py::arg("stream_rows"), py::arg("sink"), py::arg("seed_kth"),
             py::arg("seed_front"),
             "Runs the tasks. Returns a dict: visited, feasible (ints), hist_rf (n, axes), hist_count (n,), top and "
             "front: lists of (objective vector, choices) in the documented orders.");
}

}  // namespace rfsearch::bind
