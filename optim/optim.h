#pragma once
// Everything in optim/: optimizers, learning-rate schedules, gradient clipping, checkpoints.
#include "optim/adam.h"
#include "optim/checkpoint.h"
#include "optim/clip_grad.h"
#include "optim/lr_schedule.h"
#include "optim/optimizer.h"
#include "optim/sgd.h"
