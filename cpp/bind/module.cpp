// fastmlp._core: array conversion and argument checks around the C++ core. No math here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <limits>
#include <string>
#include <thread>

#include "../dispatch/dispatch.h"
#include "../gemm/gemm.h"
#include "../kernels/epilogue_scalar.h"
#include "../mlp/network.h"
#include "../mlp/sample_order.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace py = pybind11;
using namespace fastmlp;

namespace {

template <class T>
using Array = py::array_t<T, py::array::c_style>;  // no forcecast: a wrong dtype is a TypeError
using IndexArray = py::array_t<std::int64_t, py::array::c_style>;

const std::thread::id kMainThread = std::this_thread::get_id();

// Ctrl-C: Python runs signal handlers on the main thread only, so only there does a long call
// look for them, at most every 50 ms, taking the GIL back for the moment of the check. True when
// a handler raised (the exception is then set); empty off the main thread.
std::function<bool()> signal_poll() {
    if (std::this_thread::get_id() != kMainThread) return {};
    return [last = std::chrono::steady_clock::now()]() mutable {
        const auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::milliseconds(50)) return false;
        last = now;
        py::gil_scoped_acquire gil;
        return PyErr_CheckSignals() != 0;
    };
}

[[noreturn]] void fail(const std::string& msg) { throw py::value_error(msg); }

template <class T>
const char* dtype_name() { return sizeof(T) == 4 ? "float32" : "float64"; }

// The array itself, never a converted copy: a copy would silently drop in-place results.
// Aligned too: numpy arrays made from a byte buffer (unpickled by dask or multiprocessing) may
// start off their items' alignment, and the kernels' loads of such memory are undefined.
// (The checks take C strings and build a message only to refuse: a std::string per check, and
// one per element in the order's range check, had been a tenth of a one-step epoch's call.)
void require_aligned(const py::array& a, const char* what) {
    if (!(a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
        throw py::type_error(std::string(what) + " must be an aligned numpy array (its items start off their alignment)");
}

template <class A>
A exact(const py::handle& h, const char* what, const char* dtype) {
    if (!A::check_(h))
        throw py::type_error(std::string(what) + " must be a C-contiguous numpy array of dtype " + dtype);
    auto a = py::reinterpret_borrow<A>(h);
    require_aligned(a, what);
    return a;
}
template <class T>
Array<T> exact(const py::handle& h, const char* what) {
    return exact<Array<T>>(h, what, dtype_name<T>());
}
IndexArray exact_index(const py::handle& h, const char* what) {
    return exact<IndexArray>(h, what, "int64");
}

void require(bool ok, const char* msg) {
    if (!ok) fail(msg);
}

// X is a C-contiguous 2-D array, or a tuple (data, indices, indptr, n_rows, n_cols) of CSR parts.
template <class T>
InputMatrix<T> as_input(const py::object& obj, index_t n_cols_expected) {
    InputMatrix<T> X;
    if (py::isinstance<py::tuple>(obj)) {
        auto t = obj.cast<py::tuple>();
        require(t.size() == 5, "CSR input must be (data, indices, indptr, n_rows, n_cols)");
        auto data = exact<T>(t[0], "CSR data");
        auto indices = exact_index(t[1], "CSR indices");
        auto indptr = exact_index(t[2], "CSR indptr");
        X.rows = t[3].cast<index_t>();
        X.cols = t[4].cast<index_t>();
        require(X.rows >= 0 && X.cols >= 0, "CSR shape must not be negative");
        // X.rows is checked against the array's length, which cannot overflow (X.rows + 1 could)
        require(indptr.ndim() == 1 && indptr.shape(0) >= 1 && indptr.shape(0) - 1 == X.rows,
                "CSR indptr has the wrong length");
        const std::int64_t* ip = indptr.data();
        const index_t nnz = data.size();
        require(indices.size() == nnz && ip[0] == 0 && ip[X.rows] == nnz, "CSR arrays disagree");
        for (index_t r = 0; r < X.rows; ++r) require(ip[r] <= ip[r + 1], "CSR indptr must not decrease");
        const std::int64_t* ix = indices.data();
        for (index_t p = 0; p < nnz; ++p)
            require(ix[p] >= 0 && ix[p] < X.cols, "CSR column index out of range");
        X.data = data.data();
        X.indices = ix;
        X.indptr = ip;
    } else {
        auto a = exact<T>(obj, "X");
        require(a.ndim() == 2, "X must be 2-D");
        X.rows = a.shape(0);
        X.cols = a.shape(1);
        X.dense = a.data();
    }
    if (X.cols != n_cols_expected)
        fail("X has " + std::to_string(X.cols) + " features, the network expects " + std::to_string(n_cols_expected));
    return X;
}

template <class T>
const T* optional_vector(const py::object& obj, index_t n, const char* what) {
    if (obj.is_none()) return nullptr;
    auto a = exact<T>(obj, what);
    if (!(a.ndim() == 1 && a.shape(0) == n)) fail(std::string(what) + " has the wrong length");
    return a.data();
}

template <class T>
void require_vector(const Array<T>& a, index_t n, const char* what) {
    require_aligned(a, what);
    if (!(a.ndim() == 1 && a.shape(0) == n))
        fail(std::string(what) + " must be 1-D with " + std::to_string(n) + " elements");
}

// Y is a (n_rows, K) array of the model's dtype, or for softmax an int32 array of n_rows class
// indices in [0, K). The returned arrays keep Y alive while the core reads it.
template <class T>
Targets<T> as_targets(const py::object& Y_obj, index_t n_rows, const NetSpec& s,
                      Array<T>& dense_keep, py::array_t<std::int32_t, py::array::c_style>& labels_keep) {
    Targets<T> Y;
    using Labels = py::array_t<std::int32_t, py::array::c_style>;
    if (Labels::check_(Y_obj) && py::cast<py::array>(Y_obj).ndim() == 1) {
        require(s.output == Output::softmax_cross_entropy || s.output == Output::sparsemax,
                "class indices need a softmax or sparsemax output");
        labels_keep = py::reinterpret_borrow<Labels>(Y_obj);
        require_aligned(labels_keep, "labels");
        require(labels_keep.shape(0) == n_rows, "labels must have one entry per row of X");
        const std::int32_t* l = labels_keep.data();
        for (index_t i = 0; i < n_rows; ++i)
            require(l[i] >= 0 && l[i] < s.n_outputs(), "class index out of range");
        Y.labels = l;
        return Y;
    }
    dense_keep = exact<T>(Y_obj, "Y");
    require(dense_keep.ndim() == 2 && dense_keep.shape(0) == n_rows &&
                dense_keep.shape(1) == s.n_outputs(),
            "Y must be (n_samples, n_outputs)");
    Y.dense = dense_keep.data();
    return Y;
}

Activation activation_code(int code) {
    require(code >= 0 && code < kActivationCount, "unknown activation code");
    return Activation(code);
}

// hidden: one activation code for every hidden layer, or a sequence of one code per hidden layer
NetSpec make_spec(const std::vector<index_t>& units, const py::object& hidden, int output,
                  double negative_slope) {
    require(output >= 0 && output <= int(Output::exp_gamma), "unknown output code");
    require(units.size() >= 2, "a network needs at least 2 layers of units");
    require(negative_slope >= 0.0 && negative_slope < 1.0, "negative_slope must be in [0, 1)");
    std::vector<Activation> acts;
    if (py::isinstance<py::int_>(hidden)) {
        acts.assign(units.size() - 2, activation_code(hidden.cast<int>()));
    } else {
        for (int code : hidden.cast<std::vector<int>>()) acts.push_back(activation_code(code));
        require(acts.size() + 2 == units.size(), "hidden must have one activation per hidden layer");
    }
    return NetSpec(units, std::move(acts), Output(output), negative_slope);
}

LossParams make_loss_params(double label_smoothing, double huber_delta, double quantile) {
    require(label_smoothing >= 0.0 && label_smoothing < 1.0, "label_smoothing must be in [0, 1)");
    require(huber_delta > 0.0 && huber_delta < std::numeric_limits<double>::infinity(),
            "huber_delta must be positive and finite");
    require(quantile > 0.0 && quantile < 1.0, "quantile must be in (0, 1)");
    LossParams lp;
    lp.label_smoothing = label_smoothing;
    lp.huber_delta = huber_delta;
    lp.quantile = quantile;
    return lp;
}

template <class T>
void bind_dtype(py::module_& m, const char* suffix) {
    using TrainerT = Trainer<T>;
    py::class_<TrainerT>(m, (std::string("Trainer") + suffix).c_str())
        .def(py::init([](const std::vector<index_t>& units, py::object hidden, int output,
                         index_t max_rows, double negative_slope, double label_smoothing,
                         double huber_delta, double quantile) {
                 NetSpec spec = make_spec(units, hidden, output, negative_slope);
                 spec.loss = make_loss_params(label_smoothing, huber_delta, quantile);
                 return new TrainerT(std::move(spec), max_rows);
             }),
             py::arg("units"), py::arg("hidden"), py::arg("output"), py::arg("max_rows"),
             py::arg("negative_slope") = 0.01, py::arg("label_smoothing") = 0.0,
             py::arg("huber_delta") = 1.0, py::arg("quantile") = 0.5)
        .def_property_readonly("n_params", [](const TrainerT& t) { return t.spec().n_params(); })
        .def(
            "train_epoch",
            [](TrainerT& tr, py::object params_obj, py::object velocity, py::object m1, py::object m2,
               py::object t_obj, py::object X_obj, py::object Y_obj, py::object sw, py::object order_obj,
               index_t batch_size, int solver, double alpha, double lr, double momentum,
               bool nesterov, double beta_1, double beta_2, double epsilon, int n_threads,
               double weight_decay, double max_grad_norm, py::object dropout_obj,
               std::uint64_t dropout_seed) {
                const NetSpec& s = tr.spec();
                auto params = exact<T>(params_obj, "params");
                auto order = exact_index(order_obj, "order");
                require_vector(params, s.n_params(), "params");
                InputMatrix<T> X = as_input<T>(X_obj, s.n_inputs());
                Array<T> y_dense;
                py::array_t<std::int32_t, py::array::c_style> y_labels;
                const Targets<T> y = as_targets<T>(Y_obj, X.rows, s, y_dense, y_labels);
                const T* w = optional_vector<T>(sw, X.rows, "sample_weight");
                require(order.ndim() == 1, "order must be 1-D");
                const index_t n = order.shape(0);
                const std::int64_t* ord = order.data();
                bool in_range = true;
                for (index_t i = 0; i < n; ++i) in_range &= ord[i] >= 0 && ord[i] < X.rows;
                require(in_range, "order index out of range");
                require(solver == 0 || solver == 1, "unknown solver code");
                // Adam's step count, updated in place so that it stays right when Ctrl-C stops the epoch
                auto t = exact_index(t_obj, "t");
                require(t.ndim() == 1 && t.shape(0) == 1, "t must have one element");
                OptimizerState<T> state;
                state.t = t.data()[0];
                Array<T> vel, a1, a2;  // keep the casts alive for the call
                if (solver == 0) {
                    vel = exact<T>(velocity, "velocity");
                    require_vector(vel, s.n_params(), "velocity");
                    state.velocity = vel.mutable_data();
                } else {
                    a1 = exact<T>(m1, "m");
                    a2 = exact<T>(m2, "v");
                    require_vector(a1, s.n_params(), "m");
                    require_vector(a2, s.n_params(), "v");
                    state.m = a1.mutable_data();
                    state.v = a2.mutable_data();
                }
                Hyper h;
                h.solver = Solver(solver);
                h.alpha = alpha;
                h.learning_rate = lr;
                h.momentum = momentum;
                h.nesterov = nesterov;
                h.beta_1 = beta_1;
                h.beta_2 = beta_2;
                h.epsilon = epsilon;
                require(weight_decay >= 0.0, "weight_decay must be >= 0");
                require(max_grad_norm >= 0.0, "max_grad_norm must be >= 0 (0 is off)");
                h.weight_decay = weight_decay;
                h.max_grad_norm = max_grad_norm;
                std::vector<double> rates;  // one per hidden layer, each in [0, 1)
                if (!dropout_obj.is_none()) {
                    rates = dropout_obj.cast<std::vector<double>>();
                    require(index_t(rates.size()) == s.n_layers() - 1,
                            "dropout needs one rate per hidden layer");
                    for (double r : rates) require(r >= 0.0 && r < 1.0, "dropout rates must be in [0, 1)");
                    h.dropout = rates.data();
                    h.dropout_seed = dropout_seed;
                }
                const std::function<bool()> should_stop = signal_poll();
                T* p = params.mutable_data();
                EpochResult r;
                {
                    py::gil_scoped_release release;
                    r = tr.train_epoch(p, state, X, y, w, ord, n, batch_size, h, n_threads, should_stop);
                }
                t.mutable_data()[0] = state.t;
                if (r.interrupted) throw py::error_already_set();
                return py::make_tuple(r.loss, state.t);
            },
            py::arg("params"), py::arg("velocity"), py::arg("m"), py::arg("v"), py::arg("t"), py::arg("X"),
            py::arg("Y"), py::arg("sample_weight"), py::arg("order"), py::arg("batch_size"), py::arg("solver"),
            py::arg("alpha"), py::arg("learning_rate"), py::arg("momentum"), py::arg("nesterov"),
            py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("n_threads"),
            py::arg("weight_decay") = 0.0, py::arg("max_grad_norm") = 0.0, py::arg("dropout") = py::none(),
            py::arg("dropout_seed") = std::uint64_t(0),
            "One epoch of mini-batch updates; returns (epoch loss, Adam step count). dropout: None or "
            "one rate per hidden layer; weight_decay, max_grad_norm: 0 is off.")
        .def(
            "loss_and_grad",
            [](TrainerT& tr, py::object grad_obj, py::object params_obj, py::object X_obj,
               py::object Y_obj, py::object sw, double alpha, int n_threads) {
                const NetSpec& s = tr.spec();
                auto grad = exact<T>(grad_obj, "grad");
                auto params = exact<T>(params_obj, "params");
                require_vector(params, s.n_params(), "params");
                require_vector(grad, s.n_params(), "grad");
                InputMatrix<T> X = as_input<T>(X_obj, s.n_inputs());
                require(X.rows > 0, "X has no rows");
                Array<T> y_dense;
                py::array_t<std::int32_t, py::array::c_style> y_labels;
                const Targets<T> y = as_targets<T>(Y_obj, X.rows, s, y_dense, y_labels);
                const T* w = optional_vector<T>(sw, X.rows, "sample_weight");
                T* g = grad.mutable_data();
                const T* p = params.data();
                const std::function<bool()> should_stop = signal_poll();
                EpochResult r;
                {
                    py::gil_scoped_release release;
                    r = tr.loss_and_grad(g, p, X, y, w, alpha, n_threads, should_stop);
                }
                if (r.interrupted) throw py::error_already_set();
                return r.loss;
            },
            "Objective over all rows; writes its gradient into grad.");

    m.def(
        "forward",
        [](const std::vector<index_t>& units, py::object hidden, int output, Array<T> params,
           py::object X_obj, int n_threads, bool check_finite, double negative_slope) -> py::object {
            NetSpec s = make_spec(units, hidden, output, negative_slope);
            require_vector(params, s.n_params(), "params");
            InputMatrix<T> X = as_input<T>(X_obj, s.n_inputs());
            Array<T> out({X.rows, s.n_outputs()});
            T* o = out.mutable_data();
            const T* p = params.data();
            bool finite = true;
            {
                py::gil_scoped_release release;
                if (check_finite) finite = all_finite(X, n_threads);
                if (finite) network_forward(o, s, p, X, n_threads);
            }
            if (!finite) return py::none();
            return std::move(out);
        },
        py::arg("units"), py::arg("hidden"), py::arg("output"), py::arg("params").noconvert(), py::arg("X"),
        py::arg("n_threads"), py::arg("check_finite") = false, py::arg("negative_slope") = 0.01,
        "The network's output for X; None when check_finite and X holds NaN or infinity.");
    // fit's check of a plain X: true when no value of the (N, C) array is NaN or infinite
    m.def(
        "all_finite",
        [](Array<T> X, int n_threads) {
            require(X.ndim() == 2, "X must be 2-D");
            const InputMatrix<T> in = as_input<T>(X, X.shape(1));
            py::gil_scoped_release release;
            return all_finite(in, n_threads);
        },
        py::arg("X").noconvert(), py::arg("n_threads"));
    m.def(
        "transform",
        [](const std::vector<index_t>& units, py::object hidden, int output, Array<T> params,
           py::object X_obj, index_t layer, int n_threads, double negative_slope) {
            NetSpec s = make_spec(units, hidden, output, negative_slope);
            require_vector(params, s.n_params(), "params");
            require(layer >= 0 && layer + 1 < s.n_layers(), "no such hidden layer");
            InputMatrix<T> X = as_input<T>(X_obj, s.n_inputs());
            Array<T> out({X.rows, s.units[layer + 1]});
            T* o = out.mutable_data();
            const T* p = params.data();
            {
                py::gil_scoped_release release;
                network_transform(o, s, p, X, layer, n_threads);
            }
            return out;
        },
        py::arg("units"), py::arg("hidden"), py::arg("output"), py::arg("params").noconvert(), py::arg("X"),
        py::arg("layer"), py::arg("n_threads"), py::arg("negative_slope") = 0.01,
        "The activations of hidden layer `layer` (0-based) for X.");

    // One iRPROP- step over the flat arenas (params, step sizes, previous gradient, all updated
    // in place) from the finished full-batch gradient grad.
    m.def("rprop_update", [](Array<T> params, Array<T> step, Array<T> prev, Array<T> grad,
                             double eta_minus, double eta_plus, double step_min, double step_max,
                             int n_threads) {
        const index_t n = params.size();
        require_vector(params, n, "params");
        require_vector(step, n, "step");
        require_vector(prev, n, "prev");
        require_vector(grad, n, "grad");
        require(0.0 < eta_minus && eta_minus < 1.0 && eta_plus > 1.0, "need 0 < eta_minus < 1 < eta_plus");
        require(0.0 < step_min && step_min <= step_max, "need 0 < step_min <= step_max");
        T* p = params.mutable_data();
        T* st = step.mutable_data();
        T* pr = prev.mutable_data();
        const T* g = grad.data();
        py::gil_scoped_release release;
        run_in_team(n_threads, n >= kTeamMinMacs, [&] {
            rprop_update(p, st, pr, g, n, eta_minus, eta_plus, step_min, step_max);
        });
    },
          py::arg("params").noconvert(), py::arg("step").noconvert(), py::arg("prev").noconvert(),
          py::arg("grad").noconvert(), py::arg("eta_minus"), py::arg("eta_plus"), py::arg("step_min"),
          py::arg("step_max"), py::arg("n_threads"));
    // Single ops, for the tests that compare each one with a NumPy reference.
    m.def("linear_forward", [](Array<T> inp, Array<T> weight, Array<T> bias, int n_threads, int activation,
                               double negative_slope, bool return_pre) -> py::object {
        const Activation act = activation_code(activation);
        require(inp.ndim() == 2 && weight.ndim() == 2 && inp.shape(1) == weight.shape(0), "shapes disagree");
        const index_t N = inp.shape(0), C = inp.shape(1), OC = weight.shape(1);
        require_vector(bias, OC, "bias");
        Array<T> out({N, OC}), pre({return_pre ? N : index_t(0), OC});
        T* pre_p = return_pre ? pre.mutable_data() : nullptr;
        if (return_pre) std::fill_n(pre_p, pre.size(), std::numeric_limits<T>::quiet_NaN());
        GemmWorkspace<T> ws;
        ws.prepare(gemm_kernel<T>(active_kernels()), std::max({N, C, OC}));
        run_in_team(n_threads, true, [&] {
            linear_forward(out.mutable_data(), inp.data(), weight.data(), bias.data(), N, C, OC,
                           act, ws, pre_p, T(negative_slope));
        });
        if (return_pre) return py::make_tuple(out, pre);
        return std::move(out);
    },
          py::arg("inp").noconvert(), py::arg("weight").noconvert(), py::arg("bias").noconvert(), py::arg("n_threads"),
          py::arg("activation") = 0, py::arg("negative_slope") = 0.01, py::arg("return_pre") = false);
    m.def("linear_backward", [](Array<T> dout, Array<T> inp, Array<T> weight, int n_threads, int inp_activation,
                                py::object inp_pre_obj, double negative_slope) {
        const Activation act = activation_code(inp_activation);
        require(inp.ndim() == 2 && weight.ndim() == 2 && dout.ndim() == 2, "arrays must be 2-D");
        const index_t N = inp.shape(0), C = inp.shape(1), OC = weight.shape(1);
        require(weight.shape(0) == C && dout.shape(0) == N && dout.shape(1) == OC, "shapes disagree");
        Array<T> inp_pre;
        if (!inp_pre_obj.is_none()) {
            inp_pre = exact<T>(inp_pre_obj, "inp_pre");
            require(inp_pre.ndim() == 2 && inp_pre.shape(0) == N && inp_pre.shape(1) == C, "inp_pre must be (N, C)");
        }
        require(!activation_needs_pre(act) || !inp_pre_obj.is_none(), "this activation needs inp_pre");
        Array<T> dinp({N, C}), dweight({C, OC}), dbias(OC);
        GemmWorkspace<T> ws;
        ws.prepare(gemm_kernel<T>(active_kernels()), std::max({N, C, OC}));
        run_in_team(n_threads, true, [&] {
            linear_backward(dinp.mutable_data(), dweight.mutable_data(), dbias.mutable_data(),
                            dout.data(), inp.data(), weight.data(), N, C, OC, act, false, ws,
                            inp_pre_obj.is_none() ? nullptr : inp_pre.data(), T(negative_slope));
        });
        return py::make_tuple(dinp, dweight, dbias);
    },
          py::arg("dout").noconvert(), py::arg("inp").noconvert(), py::arg("weight").noconvert(), py::arg("n_threads"),
          py::arg("inp_activation") = 0, py::arg("inp_pre") = py::none(), py::arg("negative_slope") = 0.01);
    m.def("linear_forward_csr", [](py::tuple csr, Array<T> weight, Array<T> bias, int n_threads) {
        require(weight.ndim() == 2, "weight must be 2-D");
        InputMatrix<T> X = as_input<T>(csr, weight.shape(0));
        const index_t OC = weight.shape(1);
        require_vector(bias, OC, "bias");
        Array<T> out({X.rows, OC});
        std::vector<std::int64_t> rows(X.rows);
        for (index_t i = 0; i < X.rows; ++i) rows[i] = i;
        run_in_team(n_threads, true, [&] {
            linear_forward_csr(out.mutable_data(), X, rows.data(), weight.data(), bias.data(),
                               X.rows, X.cols, OC);
        });
        return out;
    },
          py::arg("csr"), py::arg("weight").noconvert(), py::arg("bias").noconvert(), py::arg("n_threads"));
    m.def("linear_backward_csr", [](Array<T> dout, py::tuple csr, int n_threads) {
        require(dout.ndim() == 2, "dout must be 2-D");
        auto t = csr.cast<py::tuple>();
        InputMatrix<T> X = as_input<T>(csr, t[4].cast<index_t>());
        const index_t OC = dout.shape(1);
        require(dout.shape(0) == X.rows, "shapes disagree");
        Array<T> dweight({X.cols, OC}), dbias(OC);
        std::vector<std::int64_t> rows(X.rows);
        for (index_t i = 0; i < X.rows; ++i) rows[i] = i;
        run_in_team(n_threads, true, [&] {
            linear_backward_csr(dweight.mutable_data(), dbias.mutable_data(), dout.data(), X,
                                rows.data(), X.rows, X.cols, OC, false);
        });
        return py::make_tuple(dweight, dbias);
    },
          py::arg("dout").noconvert(), py::arg("csr"), py::arg("n_threads"));
    m.def("activation_forward", [](int kind, Array<T> x, int n_threads, double negative_slope, bool return_pre) -> py::object {
        const Activation act = activation_code(kind);
        Array<T> out(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
        Array<T> pre(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
        std::copy_n(x.data(), x.size(), out.mutable_data());
        std::fill_n(pre.mutable_data(), pre.size(), std::numeric_limits<T>::quiet_NaN());
        T* pre_p = return_pre ? pre.mutable_data() : nullptr;
        run_in_team(n_threads, true, [&] {
            activation_forward(act, out.mutable_data(), out.size(), pre_p, T(negative_slope));
        });
        if (return_pre) return py::make_tuple(out, pre);
        return std::move(out);
    },
          py::arg("kind"), py::arg("x").noconvert(), py::arg("n_threads"), py::arg("negative_slope") = 0.01,
          py::arg("return_pre") = false);
    // One ISA's optimizer step kernel on copies of the arrays, for the tests (the trainers call
    // the active ISA's through optimizer_update): returns (params, state_1, state_2).
    m.def(
        "optimizer_step",
        [](const std::string& isa, Array<T> params, Array<T> state_1, Array<T> state_2,
           Array<T> grad, bool adam, bool nesterov, bool weights, bool decay, double alpha,
           double weight_sum, double lr, double momentum, double beta_1, double beta_2,
           double epsilon, double keep) {
            const index_t n = params.size();
            require(state_1.size() == n && state_2.size() == n && grad.size() == n, "sizes disagree");
            OptimizerStep<T> s;
            s.adam = adam;
            s.nesterov = nesterov;
            s.weights = weights;
            s.decay = decay;
            s.alpha = T(alpha);
            s.weight_sum = T(weight_sum);
            s.lr = T(lr);
            s.momentum = T(momentum);
            s.beta_1 = T(beta_1);
            s.beta_2 = T(beta_2);
            s.one_minus_beta_1 = T(1.0 - beta_1);
            s.one_minus_beta_2 = T(1.0 - beta_2);
            s.epsilon = T(epsilon);
            s.keep = T(keep);
            Array<T> p(n), a(n), b(n);
            std::copy_n(params.data(), n, p.mutable_data());
            std::copy_n(state_1.data(), n, a.mutable_data());
            std::copy_n(state_2.data(), n, b.mutable_data());
            gemm_kernel<T>(kernels_for(isa)).step(p.mutable_data(), a.mutable_data(), b.mutable_data(),
                                                  grad.data(), n, s);
            return py::make_tuple(p, a, b);
        },
        py::arg("isa"), py::arg("params").noconvert(), py::arg("state_1").noconvert(),
        py::arg("state_2").noconvert(), py::arg("grad").noconvert(), py::arg("adam"),
        py::arg("nesterov"), py::arg("weights"), py::arg("decay"), py::arg("alpha"),
        py::arg("weight_sum"), py::arg("lr"), py::arg("momentum") = 0.0, py::arg("beta_1") = 0.9,
        py::arg("beta_2") = 0.999, py::arg("epsilon") = 1e-8, py::arg("keep") = 1.0);
    m.def("activation_backward", [](int kind, Array<T> dx, Array<T> out, int n_threads, py::object pre_obj,
                                    double negative_slope) {
        const Activation act = activation_code(kind);
        require(dx.size() == out.size(), "shapes disagree");
        Array<T> pre;
        if (!pre_obj.is_none()) {
            pre = exact<T>(pre_obj, "pre");
            require(pre.size() == dx.size(), "shapes disagree");
        }
        require(!activation_needs_pre(act) || !pre_obj.is_none(), "this activation needs pre");
        Array<T> res(std::vector<py::ssize_t>(dx.shape(), dx.shape() + dx.ndim()));
        std::copy_n(dx.data(), dx.size(), res.mutable_data());
        run_in_team(n_threads, true, [&] {
            activation_backward(act, res.mutable_data(), out.data(), res.size(),
                                pre_obj.is_none() ? nullptr : pre.data(), T(negative_slope));
        });
        return res;
    },
          py::arg("kind"), py::arg("dx").noconvert(), py::arg("out").noconvert(), py::arg("n_threads"),
          py::arg("pre") = py::none(), py::arg("negative_slope") = 0.01);
    m.def("output_loss", [](int kind, Array<T> z, Array<T> y, py::object sw, int n_threads,
                            double label_smoothing, double huber_delta, double quantile) {
        require(kind >= 0 && kind <= int(Output::exp_gamma), "unknown output code");
        const LossParams lp = make_loss_params(label_smoothing, huber_delta, quantile);
        require(z.ndim() == 2 && y.ndim() == 2 && z.shape(0) == y.shape(0) && z.shape(1) == y.shape(1),
                "z and y must be (N, K)");
        const index_t N = z.shape(0), K = z.shape(1);
        const T* w = optional_vector<T>(sw, N, "sample_weight");
        Array<T> p({N, K}), delta({N, K});
        py::array_t<double> row_loss(N);
        std::copy_n(z.data(), z.size(), p.mutable_data());
        run_in_team(n_threads, true, [&] {
            output_loss_forward_backward(Output(kind), delta.mutable_data(), row_loss.mutable_data(),
                                         p.mutable_data(), y.data(), nullptr, w, lp, N, K);
        });
        return py::make_tuple(p, delta, row_loss);
    },
          py::arg("kind"), py::arg("z").noconvert(), py::arg("y").noconvert(), py::arg("sample_weight"), py::arg("n_threads"),
          py::arg("label_smoothing") = 0.0, py::arg("huber_delta") = 1.0, py::arg("quantile") = 0.5);

    // The blocked GEMM with one ISA's kernel, for the tests that compare every path with NumPy.
    // C is (M,N); c None means C starts as NaN and is not accumulated (beta == 0 never reads C).
    m.def(
        "gemm",
        [](Array<T> a, Array<T> b, bool trans_a, bool trans_b, py::object c, int epilogue,
           py::object bias, py::object z, const std::string& isa, int n_threads, bool col_sums,
           double param, bool store_pre, bool poison_c) -> py::object {
            require(a.ndim() == 2 && b.ndim() == 2, "a and b must be 2-D");
            require(epilogue >= 0 && epilogue <= int(EpilogueKind::hard_tanh_grad), "unknown epilogue");
            const index_t M = trans_a ? a.shape(1) : a.shape(0), K = trans_a ? a.shape(0) : a.shape(1);
            const index_t Kb = trans_b ? b.shape(1) : b.shape(0), N = trans_b ? b.shape(0) : b.shape(1);
            require(K == Kb, "inner dimensions disagree");
            const GemmKernel<T>& ker = gemm_kernel<T>(kernels_for(isa));
            Array<T> out({M, N});
            const bool accumulate = !c.is_none();
            if (accumulate) {
                auto c0 = exact<T>(c, "c");
                require(c0.ndim() == 2 && c0.shape(0) == M && c0.shape(1) == N, "c must be (M, N)");
                std::copy_n(c0.data(), c0.size(), out.mutable_data());
            } else if (poison_c) {  // a kernel that reads C under beta == 0 shows NaN
                std::fill_n(out.mutable_data(), out.size(), std::numeric_limits<T>::quiet_NaN());
            }
            Epilogue<T> ep;
            ep.kind = EpilogueKind(epilogue);
            ep.param = T(param);
            Array<T> pre_arr({store_pre ? M : index_t(0), N});
            if (store_pre) {
                std::fill_n(pre_arr.mutable_data(), pre_arr.size(), std::numeric_limits<T>::quiet_NaN());
                ep.pre = pre_arr.mutable_data();
                ep.ldpre = N;
            }
            Array<T> bias_arr, z_arr;
            if (!bias.is_none()) {
                bias_arr = exact<T>(bias, "bias");
                require_vector(bias_arr, N, "bias");
                ep.bias = bias_arr.data();
            }
            if (!z.is_none()) {
                z_arr = exact<T>(z, "z");
                require(z_arr.ndim() == 2 && z_arr.shape(0) == M && z_arr.shape(1) == N, "z must be (M, N)");
                ep.z = z_arr.data();
                ep.ldz = N;
            }
            require(!epilogue_uses_bias(ep.kind) || ep.bias, "this epilogue needs bias");
            require(!epilogue_uses_z(ep.kind) || ep.z, "this epilogue needs z");
            StridedMatrix<T> A = trans_a ? transposed(a.data(), a.shape(1)) : row_major(a.data(), a.shape(1));
            StridedMatrix<T> B = trans_b ? transposed(b.data(), b.shape(1)) : row_major(b.data(), b.shape(1));
            // the column sums start as C does: zero to add to, or NaN to be written over
            Array<T> sums(N);
            std::fill_n(sums.mutable_data(), N,
                        accumulate || !poison_c ? T(0) : std::numeric_limits<T>::quiet_NaN());
            {
                py::gil_scoped_release release;
                gemm(ker, out.mutable_data(), N, A, B, M, N, K, accumulate, ep,
                     col_sums ? sums.mutable_data() : nullptr, n_threads);
            }
            if (store_pre) return py::make_tuple(out, sums, pre_arr);
            return py::make_tuple(out, sums);
        },
        py::arg("a").noconvert(), py::arg("b").noconvert(), py::arg("trans_a"), py::arg("trans_b"),
        py::arg("c"), py::arg("epilogue"), py::arg("bias"), py::arg("z"), py::arg("isa"),
        py::arg("n_threads"), py::arg("col_sums"), py::arg("param") = 0.0, py::arg("store_pre") = false,
        py::arg("poison_c") = true);

    // For bench/bench_gemm.py: the seconds per product of C = A·B (no epilogue), timed over
    // `calls` back-to-back products into one output inside the core, so that a small product's
    // figure is the kernel's and not the Python call's. The output is returned with the time.
    m.def(
        "gemm_seconds",
        [](Array<T> a, Array<T> b, const std::string& isa, int n_threads, int calls) {
            require(a.ndim() == 2 && b.ndim() == 2 && a.shape(1) == b.shape(0), "a (M,K) and b (K,N) must agree");
            require(calls >= 1, "calls must be at least 1");
            const index_t M = a.shape(0), K = a.shape(1), N = b.shape(1);
            const GemmKernel<T>& ker = gemm_kernel<T>(kernels_for(isa));
            Array<T> out({M, N});
            double seconds = 0.0;
            {
                py::gil_scoped_release release;
                const auto start = std::chrono::steady_clock::now();
                for (int i = 0; i < calls; ++i)
                    gemm(ker, out.mutable_data(), N, row_major(a.data(), K), row_major(b.data(), N), M, N, K,
                         false, Epilogue<T>{}, static_cast<T*>(nullptr), n_threads);
                seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            }
            return py::make_tuple(seconds / calls, out);
        },
        py::arg("a").noconvert(), py::arg("b").noconvert(), py::arg("isa"), py::arg("n_threads"),
        py::arg("calls"));
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "fastmlp's compiled core (private: use fastmlp.MLPClassifier / MLPRegressor)";
    bind_dtype<float>(m, "32");
    bind_dtype<double>(m, "64");
    // Dropout masks as training draws them, for the tests: (N, C), float64, of 0 or 1/(1-rate),
    // for hidden layer `layer` in batch `batch` of an epoch whose dropout seed is `seed`.
    m.def("dropout_mask", [](index_t N, index_t C, double rate, std::uint64_t seed, std::int64_t batch,
                             std::int64_t layer) {
        require(N >= 0 && C >= 0 && rate >= 0.0 && rate < 1.0, "bad dropout_mask arguments");
        Array<double> out({N, C}), mask({N, C});
        std::vector<double> ones(std::size_t(N * C), 1.0);
        run_in_team(1, false, [&] {
            dropout_forward(out.mutable_data(), mask.mutable_data(), ones.data(), N, C, rate,
                            dropout_key(seed, batch, layer));
        });
        return mask;
    },
          py::arg("N"), py::arg("C"), py::arg("rate"), py::arg("seed"), py::arg("batch"), py::arg("layer"));
    // An epoch's row order as sklearn.utils.shuffle(values, random_state) draws it, from the bit
    // generator at `bit_generator` (the address of its numpy bitgen_t: BitGenerator.ctypes.
    // bit_generator); the caller holds that generator's lock.
    m.def("shuffled_like_numpy", [](IndexArray values, std::uintptr_t bit_generator) {
        require(values.ndim() == 1, "values must be 1-D");
        require(bit_generator != 0, "no bit generator");
        const index_t n = values.shape(0);
        IndexArray out(n), order(n);
        shuffled_like_numpy(out.mutable_data(), order.mutable_data(), values.data(), n,
                            *reinterpret_cast<NumpyBitGenerator*>(bit_generator));
        return out;
    },
          py::arg("values").noconvert(), py::arg("bit_generator"));
    m.def("available_isas", &available_isas, "Kernel sets this build has and this CPU runs, best last.");
    m.def("active_isa", []() { return std::string(active_kernels().isa); });
    m.def("set_isa", [](const std::string& isa) { set_active_isa(isa); },
          "Make an available kernel set the active one (ValueError otherwise).");
    m.def("kernel_info", [](const std::string& isa) {
        const KernelSet& k = kernels_for(isa);
        auto one = [](auto& g) {
            py::dict d;
            d["name"] = g.name; d["mr"] = g.mr; d["nr"] = g.nr; d["kc"] = g.kc; d["mc"] = g.mc; d["nc"] = g.nc;
            d["row_nr"] = g.row ? g.row_nr : 0;  // columns per one-row kernel call (0: none)
            // rows of C up to which a row-major B that fits in L2 is read in place (None: any)
            d["b_in_place_max_rows"] = g.b_in_place_max_rows == std::numeric_limits<index_t>::max()
                                           ? py::object(py::none())
                                           : py::object(py::int_(g.b_in_place_max_rows));
            return d;
        };
        py::dict d;
        d["isa"] = k.isa;
        d["float32"] = one(k.sgemm);
        d["float64"] = one(k.dgemm);
        return d;
    });
    m.def("max_threads", []() {
#ifdef _OPENMP
        return omp_get_max_threads();
#else
        return 1;
#endif
    }, "OpenMP's current thread limit (reflects threadpoolctl and OMP_NUM_THREADS).");
    m.attr("openmp") =
#ifdef _OPENMP
        true;
#else
        false;
#endif
}
