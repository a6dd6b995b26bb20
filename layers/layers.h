#pragma once
// Every layer of ember, for `#include "layers/layers.h"`. Each has its own header beside this one,
// with the shapes and the math at the top.
#include "layers/activations.h"  // ReLU, LeakyReLU, GELU, Sigmoid, Tanh
#include "layers/batchnorm.h"    // BatchNorm1d, BatchNorm2d
#include "layers/conv2d.h"       // Conv2d
#include "layers/dropout.h"      // Dropout
#include "layers/embedding.h"    // Embedding
#include "layers/flatten.h"      // Flatten
#include "layers/gradcheck_module.h"  // gradcheck_module: check a layer's gradients
#include "layers/graph_names.h"  // graph_names: parameter names for dump_graph
#include "layers/init.h"         // kaiming_uniform_, kaiming_normal_, xavier_uniform_, normal_, zeros_, ...
#include "layers/layernorm.h"    // LayerNorm
#include "layers/linear.h"       // Linear
#include "layers/module.h"       // Module, StateDict
#include "layers/pool.h"         // MaxPool2d, AvgPool2d, GlobalAvgPool2d
#include "layers/residual.h"     // BasicBlock
#include "layers/resnet.h"       // ResNet-20/32/44/56/110, plain nets, ResNet-18: make_model(name, ...)
#include "layers/sequential.h"   // Sequential
