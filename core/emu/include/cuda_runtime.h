// Emulated build: the runtime API (cuda_runtime_api.h) and the device-side shim.
#pragma once
#include "cuda_runtime_api.h"
#include "../cuda_emu.h"
