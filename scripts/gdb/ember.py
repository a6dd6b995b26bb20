"""gdb support for ember: shows a Tensor as its dtype, shape and first values, a Module as its type
and its parameters, and an autograd Node as its op and inputs.

    gdb -x scripts/gdb/ember.py --args build-debug/bin/mnist --epochs=1 --threads=1
    (gdb) break ember::conv2d
    (gdb) run
    (gdb) p x                   # Tensor float32 [64, 1, 28, 28] = {0, 0, 0.1176, ...} (50176 elements)
    (gdb) ember-print x 20      # the first 20 values, and the tensor's autograd fields
    (gdb) p x.impl_._M_ptr->shape
    (gdb) p *this               # in a layer's forward: Module Conv2d (training; 2 parameters, 320 elements)
                                #   weight  float32 [32, 1, 3, 3]  ...
    (gdb) p *x.impl_._M_ptr->grad_fn._M_ptr   # Node relu <- [0] Tensor float32 [64, 32, 28, 28] ...

It only reads the process's memory and never calls a function of the program: calling functions
from gdb (`p x.to_string(6)`) needs the program to run code for gdb, which some machines refuse
(on this course's virtual machines gdb answers "Couldn't write extended state status").
"""
import re

import gdb

DTYPES = {  # ember::DType -> (C type to read the values as, name shown)
    "Float32": ("float", "float32"),
    "Float64": ("double", "float64"),
    "Int64": ("long", "int64"),
}


def _shared_ptr_target(ptr):
    """The object a std::shared_ptr points to, or None when it is empty."""
    raw = ptr["_M_ptr"]
    return None if int(raw) == 0 else raw.dereference()


def _vector_items(vec):
    start, finish = vec["_M_impl"]["_M_start"], vec["_M_impl"]["_M_finish"]
    return [int((start + i).dereference()) for i in range(int(finish - start))]


def _std_string(s):
    return s["_M_dataplus"]["_M_p"].string(length=int(s["_M_string_length"]))


def _format_value(v, ctype):
    if ctype == "long":
        return str(int(v))
    return "%.6g" % float(v)


class TensorInfo:
    """What gdb can read about one TensorImpl."""

    def __init__(self, impl):
        self.shape = _vector_items(impl["shape"])
        self.numel = 1
        for d in self.shape:
            self.numel *= d
        dtype_key = str(impl["dtype"]).split("::")[-1]
        self.ctype, self.dtype = DTYPES.get(dtype_key, (None, dtype_key))
        self.requires_grad = bool(impl["requires_grad"])
        self.has_grad = _shared_ptr_target(impl["grad"]) is not None
        node = _shared_ptr_target(impl["grad_fn"])
        self.grad_fn = _std_string(node["name"]) if node is not None else None
        self.graph_freed = bool(impl["graph_freed"])
        storage = _shared_ptr_target(impl["storage"])
        self.data = None
        if storage is not None and self.ctype is not None and int(storage["data_"]) != 0:
            self.data = storage["data_"].cast(gdb.lookup_type(self.ctype).pointer()) + int(impl["offset"])

    def values(self, count):
        count = min(count, self.numel)
        if self.data is None or count <= 0:
            return []
        return [_format_value((self.data + i).dereference(), self.ctype) for i in range(count)]

    def summary(self, count=6):
        text = "Tensor %s [%s]" % (self.dtype, ", ".join(str(d) for d in self.shape))
        vals = self.values(count)
        if vals:
            text += " = {%s%s}" % (", ".join(vals), ", ..." if self.numel > count else "")
        text += " (%d element%s" % (self.numel, "" if self.numel == 1 else "s")
        if self.requires_grad:
            text += "; requires_grad"
        if self.grad_fn:
            text += "; grad_fn " + self.grad_fn
        if self.graph_freed:
            text += "; graph freed by backward"
        if self.has_grad:
            text += "; has .grad"
        return text + ")"


def _impl_of(val):
    """The TensorImpl behind a Tensor, a TensorImpl, or a pointer to either; None if undefined."""
    if val.type.code in (gdb.TYPE_CODE_REF, gdb.TYPE_CODE_RVALUE_REF):
        val = val.referenced_value()
    if val.type.code == gdb.TYPE_CODE_PTR:
        if int(val) == 0:
            return None
        val = val.dereference()
    name = str(val.type.strip_typedefs().unqualified())
    if name == "ember::Tensor":
        return _shared_ptr_target(val["impl_"])
    return val


class TensorPrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        impl = _impl_of(self.val)
        if impl is None:
            return "Tensor (undefined)"
        try:
            return TensorInfo(impl).summary()
        except gdb.error as e:  # not constructed yet, or freed: show that rather than fail
            return "Tensor (unreadable: %s)" % e


def _object_of(val):
    """The object behind a reference or a pointer."""
    if val.type.code in (gdb.TYPE_CODE_REF, gdb.TYPE_CODE_RVALUE_REF):
        val = val.referenced_value()
    if val.type.code == gdb.TYPE_CODE_PTR:
        val = val.dereference()
    return val


def _class_name(obj):
    """The most derived class of a polymorphic object (a Module& that is really a Conv2d), read from
    the symbol of its vtable: that works where the class has no debug information (a Release
    library), where gdb's own RTTI lookup gives up."""
    try:
        if obj.address is not None:
            vtable = obj.address.cast(gdb.lookup_type("void").pointer().pointer()).dereference()
            where = gdb.execute("info symbol 0x%x" % int(vtable), to_string=True)
            found = re.match(r"vtable for (\S+)", where)
            if found:
                return found.group(1)
    except gdb.error:
        pass
    return str(obj.type.strip_typedefs().unqualified())


_module_types = {}  # type name -> whether it is a Module (gdb asks for every value it prints)


def _is_module_type(t):
    """Whether a class type is ember::Module or derives from it."""
    t = t.strip_typedefs().unqualified()
    if t.code != gdb.TYPE_CODE_STRUCT:
        return False
    name = str(t)
    if name not in _module_types:
        _module_types[name] = name == "ember::Module" or any(
            f.is_base_class and _is_module_type(f.type) for f in t.fields())
    return _module_types[name]


MAX_PARAMETER_LINES = 40


def _module_parameters(module, prefix, out, seen):
    """(dotted name, TensorImpl) of every parameter below `module`, in registration order, each once
    (as Module::named_parameters)."""
    for entry in _vector_values(module["parameters_"]):
        impl = _impl_of(entry["second"])
        if impl is None or int(impl.address) in seen:
            continue
        seen.add(int(impl.address))
        out.append((prefix + _std_string(entry["first"]), impl))
    for entry in _vector_values(module["children_"]):
        child = _shared_ptr_target(entry["second"])
        if child is not None:
            _module_parameters(child, prefix + _std_string(entry["first"]) + ".", out, seen)


def _vector_values(vec):
    start, finish = vec["_M_impl"]["_M_start"], vec["_M_impl"]["_M_finish"]
    return [(start + i).dereference() for i in range(int(finish - start))]


class ModulePrinter:
    def __init__(self, val):
        self.val = val

    def to_string(self):
        try:
            val = _object_of(self.val)
            type_name = _class_name(val).replace("ember::", "")
            module = val.cast(gdb.lookup_type("ember::Module"))
            params = []
            _module_parameters(module, "", params, set())
            infos = [(name, TensorInfo(impl)) for name, impl in params]
            total = sum(info.numel for _, info in infos)
            children = len(_vector_values(module["children_"]))
            text = "Module %s (%s; %d parameter%s, %d elements%s)" % (
                type_name, "training" if bool(module["training_"]) else "eval", len(infos),
                "" if len(infos) == 1 else "s", total,
                "; %d child%s" % (children, "" if children == 1 else "ren") if children else "")
            width = max([len(name) for name, _ in infos] + [0])
            for name, info in infos[:MAX_PARAMETER_LINES]:
                text += "\n  %s  %s [%s]%s" % (name.ljust(width), info.dtype, ", ".join(str(d) for d in info.shape),
                                                "" if info.requires_grad else "  (frozen)")
            if len(infos) > MAX_PARAMETER_LINES:
                text += "\n  ... %d more" % (len(infos) - MAX_PARAMETER_LINES)
            return text
        except gdb.error as e:
            return "Module (unreadable: %s)" % e


class NodePrinter:
    """An autograd Node: the op that made a tensor, and the tensors it read."""

    def __init__(self, val):
        self.val = val

    def to_string(self):
        try:
            inputs = _vector_values(self.val["inputs"])
            parts = []
            for i, t in enumerate(inputs):
                impl = _impl_of(t)
                parts.append("[%d] %s" % (i, "Tensor (undefined)" if impl is None else TensorInfo(impl).summary(3)))
            return "Node %s <- %s" % (_std_string(self.val["name"]), ", ".join(parts) if parts else "(no inputs)")
        except gdb.error as e:
            return "Node (unreadable: %s)" % e


def _lookup(val):
    t = val.type.strip_typedefs().unqualified()
    name = str(t)
    if name in ("ember::Tensor", "ember::TensorImpl"):
        return TensorPrinter(val)
    if name == "ember::Node":
        return NodePrinter(val)
    if _is_module_type(t):
        return ModulePrinter(val)
    return None


class EmberPrint(gdb.Command):
    """ember-print EXPR [N]: a tensor's dtype, shape, autograd fields and first N values (default 20),
    N per line of the last dimension."""

    def __init__(self):
        super().__init__("ember-print", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        parts = gdb.string_to_argv(arg)
        if not parts:
            raise gdb.GdbError("usage: ember-print EXPR [N]")
        count = int(parts[1]) if len(parts) > 1 else 20
        impl = _impl_of(gdb.parse_and_eval(parts[0]))
        if impl is None:
            print("Tensor (undefined)")
            return
        info = TensorInfo(impl)
        print(info.summary(0))
        vals = info.values(count)
        row = info.shape[-1] if info.shape and info.shape[-1] > 0 else max(len(vals), 1)
        for i in range(0, len(vals), row):
            print("  [%d] %s" % (i, "  ".join(vals[i:i + row])))
        if info.numel > len(vals):
            print("  ... %d more" % (info.numel - len(vals)))


gdb.pretty_printers.append(_lookup)
EmberPrint()
print("ember: 'p TENSOR' shows dtype, shape and values; 'ember-print TENSOR [N]' shows N values; "
      "'p MODULE' its parameters; 'p NODE' its op and inputs")
