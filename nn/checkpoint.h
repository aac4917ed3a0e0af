// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), the
// format PyTorch users exchange weights in:
//   8 bytes   little-endian uint64 N, the length of the header
//   N bytes   JSON: {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//                    "__metadata__": {"<key>": "<string value>", ...}}
//             padded with spaces to a multiple of 8 bytes
//   the rest  the tensors' raw little-endian bytes; offsets count from the end of the header
//
// A Module's state dict uses PyTorch's names and layouts (named_parameters, named_buffers,
// and BatchNorm2d's int64 "num_batches_tracked" as an I64 scalar of shape []), so that
//   netG.load_state_dict(safetensors.torch.load_file("netG.safetensors"))
// works in PyTorch with strict=True, and files converted from PyTorch load here.
//
// Files are written atomically (a temporary file beside the target, fsync, rename, fsync of
// the folder): a crash mid-write leaves the previous file intact. Everything read is
// validated, and errors name the file and the tensor.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "module.h"

namespace ganops::nn {

// One tensor as stored: dtype by its safetensors name ("F32", "F64", "I64", ...), shape and
// raw little-endian bytes. Kept apart from Tensor so that dtypes without a Tensor
// counterpart (I64 counters, F16 from other programs) can be read and written.
struct StoredTensor {
    std::string dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;

    int64_t numel() const;
    std::string shape_str() const;  // "[64, 1, 4, 4]"
};

StoredTensor stored_from_tensor(const Tensor& t);  // F32 or F64, any device
StoredTensor stored_i64_scalar(int64_t value);      // shape []
// F32/F64/F16/BF16 data converted to a host tensor of `dtype` (F32 or F64).
Tensor tensor_from_stored(const StoredTensor& s, DType dtype = DType::F32);
int64_t i64_scalar_from_stored(const StoredTensor& s, const std::string& what);
// Throws ganops::Error "<what> holds NaN at element 12 (3 non-finite values)" when `t` (any
// device) holds a NaN or an infinity: weights that would train into NaN without a word.
void check_finite(const Tensor& t, const std::string& what);

struct SafetensorsFile {
    std::vector<std::pair<std::string, StoredTensor>> tensors;  // in file order
    std::map<std::string, std::string> metadata;
    const StoredTensor* find(const std::string& name) const;  // nullptr when absent
};

// Bytes of a safetensors file; throws ganops::Error for names used twice.
std::vector<uint8_t> encode_safetensors(const std::vector<std::pair<std::string, StoredTensor>>& tensors,
                                        const std::map<std::string, std::string>& metadata = {});
// Parses and validates; `source` (a file name) prefixes every error message.
SafetensorsFile decode_safetensors(const uint8_t* data, size_t size, const std::string& source);

// Writes `path` whole or not at all: a temporary "<path>.tmp.<pid>" beside it, fsync,
// rename over the target, fsync of the folder. A process killed mid-write (kill -9, power
// loss) leaves the previous file intact and, at most, its temporary behind.
void write_file_atomic(const std::string& path, const void* data, size_t size);
// Deletes the temporaries "<name>.tmp.<pid>" in `folder` that processes no longer running
// left behind (a kill -9 during write_file_atomic); those of live processes are kept.
// Returns how many were removed.
int remove_stale_temporaries(const std::string& folder);
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, StoredTensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
SafetensorsFile read_safetensors(const std::string& path);

// PyTorch's state_dict(): parameters, buffers and num_batches_tracked, names prefixed.
std::vector<std::pair<std::string, StoredTensor>> state_dict(const Module& module, const std::string& prefix = "");
// Copies every entry named `prefix` + a state-dict name into the module (any device). All
// names and shapes are checked before anything is written, so a mismatch leaves the module
// untouched. strict: every state-dict entry must be present and the file may hold no other
// entry starting with `prefix`. Every value must be finite (check_finite) unless
// allow_nonfinite is set.
void load_state_dict(Module& module, const SafetensorsFile& file, const std::string& source,
                     const std::string& prefix = "", bool strict = true, bool allow_nonfinite = false);

void save_state_dict(const Module& module, const std::string& path,
                     const std::map<std::string, std::string>& metadata = {});
// Returns the file's metadata.
std::map<std::string, std::string> load_state_dict(Module& module, const std::string& path);

}  // namespace ganops::nn
