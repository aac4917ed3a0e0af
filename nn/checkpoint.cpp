#include "checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "../core/autograd.h"
#include "../kernels/layout.h"
#include "batchnorm2d.h"

namespace ganops::nn {

namespace {

size_t dtype_bytes(const std::string& dtype) {
    static const std::map<std::string, size_t> sizes = {
        {"BOOL", 1}, {"U8", 1}, {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
        {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"I64", 8},     {"U64", 8}, {"F64", 8}};
    const auto it = sizes.find(dtype);
    return it == sizes.end() ? 0 : it->second;
}

// The header is small JSON of a fixed shape; this parser accepts exactly JSON (objects,
// arrays, strings, integers, true/false/null) and reports where it stopped.
struct JsonMember;
struct Json {
    enum Kind { Null, Bool, Int, String, Array, Object } kind = Null;
    int64_t integer = 0;
    std::string string;
    std::vector<Json> array;
    // Not std::pair<std::string, Json>: clang with libstdc++ rejects a pair of the type
    // being defined (its default-constructibility check needs the complete type).
    std::vector<JsonMember> object;
};
struct JsonMember {
    std::string key;
    Json value;
};

class JsonParser {
public:
    JsonParser(const char* text, size_t size, const std::string& source) : p_(text), end_(text + size), begin_(text), source_(source) {}

    Json parse_document() {
        Json v = value(0);
        skip_space();
        if (p_ != end_) error("unexpected text after the header object");
        return v;
    }

private:
    [[noreturn]] void error(const std::string& what) {
        fail(source_, ": corrupt safetensors header (", what, " at byte ", p_ - begin_ + 8, ")");
    }
    void skip_space() {
        while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
    }
    void expect(char c) {
        skip_space();
        if (p_ == end_ || *p_ != c) error(std::string("expected '") + c + "'");
        ++p_;
    }
    Json value(int depth) {
        if (depth > 16) error("nesting too deep");
        skip_space();
        if (p_ == end_) error("unexpected end");
        Json v;
        if (*p_ == '{') {
            v.kind = Json::Object;
            ++p_;
            skip_space();
            if (p_ != end_ && *p_ == '}') { ++p_; return v; }
            for (;;) {
                skip_space();
                std::string key = string_literal();
                expect(':');
                v.object.push_back(JsonMember{std::move(key), value(depth + 1)});
                skip_space();
                if (p_ != end_ && *p_ == ',') { ++p_; continue; }
                expect('}');
                return v;
            }
        }
        if (*p_ == '[') {
            v.kind = Json::Array;
            ++p_;
            skip_space();
            if (p_ != end_ && *p_ == ']') { ++p_; return v; }
            for (;;) {
                v.array.push_back(value(depth + 1));
                skip_space();
                if (p_ != end_ && *p_ == ',') { ++p_; continue; }
                expect(']');
                return v;
            }
        }
        if (*p_ == '"') {
            v.kind = Json::String;
            v.string = string_literal();
            return v;
        }
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) {
            v.kind = Json::Int;
            const bool negative = *p_ == '-';
            if (negative) ++p_;
            if (p_ == end_ || *p_ < '0' || *p_ > '9') error("bad number");
            uint64_t n = 0;
            while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
                if (n > (uint64_t(INT64_MAX) - 9) / 10) error("integer too large");
                n = n * 10 + uint64_t(*p_++ - '0');
            }
            if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) error("expected an integer");
            v.integer = negative ? -int64_t(n) : int64_t(n);
            return v;
        }
        for (const char* word : {"true", "false", "null"}) {
            const size_t len = std::strlen(word);
            if (size_t(end_ - p_) >= len && std::memcmp(p_, word, len) == 0) {
                p_ += len;
                v.kind = word[0] == 'n' ? Json::Null : Json::Bool;
                v.integer = word[0] == 't';
                return v;
            }
        }
        error("unexpected character");
    }
    std::string string_literal() {
        if (p_ == end_ || *p_ != '"') error("expected a string");
        ++p_;
        std::string out;
        for (;;) {
            if (p_ == end_) error("unterminated string");
            const char c = *p_++;
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) error("control character in a string");
            if (c != '\\') { out += c; continue; }
            if (p_ == end_) error("unterminated escape");
            const char e = *p_++;
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t cp = hex4();
                    if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
                        if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u') error("lone surrogate");
                        p_ += 2;
                        const uint32_t low = hex4();
                        if (low < 0xDC00 || low > 0xDFFF) error("bad surrogate pair");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default: error("bad escape");
            }
        }
    }
    uint32_t hex4() {
        if (end_ - p_ < 4) error("short \\u escape");
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = *p_++;
            v <<= 4;
            if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
            else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
            else error("bad \\u escape");
        }
        return v;
    }
    static void append_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += char(cp);
        } else if (cp < 0x800) {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += char(0xE0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        } else {
            out += char(0xF0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3F));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        }
    }

    const char* p_;
    const char* end_;
    const char* begin_;
    const std::string& source_;
};

void append_json_string(std::string& out, const std::string& s) {
    out += '"';
    for (const char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

std::string errno_text() { return std::strerror(errno); }

// Every BatchNorm2d that tracks running statistics, with its state-dict prefix.
void collect_batchnorms(const Module& m, const std::string& prefix, std::vector<std::pair<std::string, BatchNorm2d*>>& out) {
    for (const auto& [name, child] : m.named_children()) {
        const std::string p = prefix + name + ".";
        if (auto* bn = dynamic_cast<BatchNorm2d*>(child.get()); bn && bn->running_mean.defined()) out.emplace_back(p, bn);
        collect_batchnorms(*child, p, out);
    }
}

float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h >> 15) << 31, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    float magnitude;
    if (exponent == 0) magnitude = std::ldexp(float(mantissa), -24);
    else if (exponent == 31) magnitude = mantissa ? NAN : INFINITY;
    else magnitude = std::ldexp(float(mantissa | 0x400), int(exponent) - 25);
    return sign ? -magnitude : magnitude;
}

}  // namespace

int64_t StoredTensor::numel() const {
    int64_t n = 1;
    for (const int64_t d : shape) n = checked_size_product(n, d, "StoredTensor: element count");
    return n;
}

std::string StoredTensor::shape_str() const {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

StoredTensor stored_from_tensor(const Tensor& t) {
    GANOPS_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F64, "stored_from_tensor: tensor ", t.str(),
                 " is neither float32 nor float64");
    // Files hold PyTorch's contiguous NCHW order whatever the tensor's memory format.
    const Tensor host = kernels::convert_memory_format(t.detach().to(Device::CPU), MemoryFormat::Contiguous);
    StoredTensor s;
    s.dtype = t.dtype() == DType::F32 ? "F32" : "F64";
    s.shape.assign(t.shape().begin(), t.shape().end());
    const auto* p = static_cast<const uint8_t*>(host.data_ptr());
    s.bytes.assign(p, p + host.numel() * int64_t(dtype_size(t.dtype())));
    return s;
}

StoredTensor stored_i64_scalar(int64_t value) {
    StoredTensor s;
    s.dtype = "I64";
    s.bytes.resize(8);
    std::memcpy(s.bytes.data(), &value, 8);  // every target of this library is little-endian
    return s;
}

Tensor tensor_from_stored(const StoredTensor& s, DType dtype) {
    GANOPS_CHECK(s.shape.size() <= size_t(Shape::kMaxDims), "tensor_from_stored: shape ", s.shape_str(),
                 " has more than ", Shape::kMaxDims, " dimensions");
    Shape shape;  // Shape is built from an initializer list of the right length
    switch (s.shape.size()) {
        case 0: shape = Shape{}; break;
        case 1: shape = Shape{s.shape[0]}; break;
        case 2: shape = Shape{s.shape[0], s.shape[1]}; break;
        case 3: shape = Shape{s.shape[0], s.shape[1], s.shape[2]}; break;
        default: shape = Shape{s.shape[0], s.shape[1], s.shape[2], s.shape[3]}; break;
    }
    const size_t n = size_t(s.numel());
    GANOPS_CHECK(s.bytes.size() == n * dtype_bytes(s.dtype), "tensor_from_stored: ", s.bytes.size(),
                 " bytes do not hold ", s.dtype, " ", s.shape_str());
    std::vector<double> values(n);
    const uint8_t* b = s.bytes.data();
    for (size_t i = 0; i < n; ++i) {
        if (s.dtype == "F32") {
            float f;
            std::memcpy(&f, b + 4 * i, 4);
            values[i] = f;
        } else if (s.dtype == "F64") {
            std::memcpy(&values[i], b + 8 * i, 8);
        } else if (s.dtype == "F16") {
            uint16_t h;
            std::memcpy(&h, b + 2 * i, 2);
            values[i] = half_to_float(h);
        } else if (s.dtype == "BF16") {
            uint16_t h;
            std::memcpy(&h, b + 2 * i, 2);
            const uint32_t bits = uint32_t(h) << 16;
            float f;
            std::memcpy(&f, &bits, 4);
            values[i] = f;
        } else {
            fail("tensor_from_stored: dtype ", s.dtype, " is not a floating-point type");
        }
    }
    if (dtype == DType::F64) return Tensor::from_vector(shape, values);
    // From F32 data this round trip (float -> double -> float) is exact.
    return Tensor::from_vector(shape, std::vector<float>(values.begin(), values.end()));
}

int64_t i64_scalar_from_stored(const StoredTensor& s, const std::string& what) {
    GANOPS_CHECK(s.dtype == "I64" && s.numel() == 1 && s.bytes.size() == 8, what, ": expected an I64 scalar, got ",
                 s.dtype, " ", s.shape_str());
    int64_t v;
    std::memcpy(&v, s.bytes.data(), 8);
    return v;
}

void check_finite(const Tensor& t, const std::string& what) {
    const std::vector<double> v = t.to_double_vector();
    int64_t bad = 0, first = -1;
    for (size_t i = 0; i < v.size(); ++i)
        if (!std::isfinite(v[i])) {
            if (first < 0) first = int64_t(i);
            ++bad;
        }
    if (bad)
        fail(what, " holds ", std::isnan(v[size_t(first)]) ? "NaN" : v[size_t(first)] > 0 ? "inf" : "-inf", " at element ", first,
             " (", bad, " non-finite value", bad == 1 ? "" : "s", " in ", t.shape(), ")");
}

const StoredTensor* SafetensorsFile::find(const std::string& name) const {
    for (const auto& [n, t] : tensors)
        if (n == name) return &t;
    return nullptr;
}

std::vector<uint8_t> encode_safetensors(const std::vector<std::pair<std::string, StoredTensor>>& tensors,
                                        const std::map<std::string, std::string>& metadata) {
    std::string header = "{";
    std::set<std::string> seen;
    uint64_t offset = 0;
    bool first = true;
    if (!metadata.empty()) {
        header += "\"__metadata__\":{";
        for (auto it = metadata.begin(); it != metadata.end(); ++it) {
            if (it != metadata.begin()) header += ',';
            append_json_string(header, it->first);
            header += ':';
            append_json_string(header, it->second);
        }
        header += '}';
        first = false;
    }
    for (const auto& [name, t] : tensors) {
        GANOPS_CHECK(seen.insert(name).second && name != "__metadata__", "encode_safetensors: tensor name \"", name,
                     "\" used twice");
        GANOPS_CHECK(dtype_bytes(t.dtype) != 0, "encode_safetensors: ", name, ": unknown dtype ", t.dtype);
        GANOPS_CHECK(t.bytes.size() == size_t(t.numel()) * dtype_bytes(t.dtype), "encode_safetensors: ", name, ": ",
                     t.bytes.size(), " bytes do not hold ", t.dtype, " ", t.shape_str());
        if (!first) header += ',';
        first = false;
        append_json_string(header, name);
        header += ":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
        for (size_t i = 0; i < t.shape.size(); ++i) header += (i ? "," : "") + std::to_string(t.shape[i]);
        header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + t.bytes.size()) + "]}";
        offset += t.bytes.size();
    }
    header += '}';
    header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
    std::vector<uint8_t> out(8 + header.size() + offset);
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[size_t(i)] = uint8_t(n >> (8 * i));
    std::memcpy(out.data() + 8, header.data(), header.size());
    uint8_t* data = out.data() + 8 + header.size();
    for (const auto& [name, t] : tensors) {
        if (!t.bytes.empty()) std::memcpy(data, t.bytes.data(), t.bytes.size());
        data += t.bytes.size();
    }
    return out;
}

SafetensorsFile decode_safetensors(const uint8_t* data, size_t size, const std::string& source) {
    GANOPS_CHECK(size >= 8, source, ": not a safetensors file (", size, " bytes, shorter than the 8-byte header length)");
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= uint64_t(data[i]) << (8 * i);
    GANOPS_CHECK(n >= 2 && n <= size - 8 && n <= (uint64_t(100) << 20), source,
                 ": not a safetensors file or truncated (header length ", n, ", file size ", size, ")");
    const Json root = JsonParser(reinterpret_cast<const char*>(data + 8), size_t(n), source).parse_document();
    GANOPS_CHECK(root.kind == Json::Object, source, ": corrupt safetensors header (not a JSON object)");
    const uint8_t* payload = data + 8 + n;
    const uint64_t payload_size = size - 8 - n;

    SafetensorsFile file;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    std::set<std::string> names;
    for (const auto& [name, entry] : root.object) {
        if (name == "__metadata__") {
            GANOPS_CHECK(entry.kind == Json::Object, source, ": __metadata__ is not an object");
            for (const auto& [key, value] : entry.object) {
                GANOPS_CHECK(value.kind == Json::String, source, ": metadata \"", key, "\" is not a string");
                file.metadata[key] = value.string;
            }
            continue;
        }
        GANOPS_CHECK(names.insert(name).second, source, ": tensor \"", name, "\" appears twice");
        const std::string what = source + ": tensor \"" + name + "\"";
        GANOPS_CHECK(entry.kind == Json::Object, what, " is not described by an object");
        const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
        for (const auto& [key, value] : entry.object) {
            if (key == "dtype") dtype = &value;
            else if (key == "shape") shape = &value;
            else if (key == "data_offsets") offsets = &value;
        }
        GANOPS_CHECK(dtype && dtype->kind == Json::String && dtype_bytes(dtype->string) != 0, what,
                     ": missing or unknown dtype");
        GANOPS_CHECK(shape && shape->kind == Json::Array, what, ": missing shape");
        GANOPS_CHECK(offsets && offsets->kind == Json::Array && offsets->array.size() == 2 &&
                         offsets->array[0].kind == Json::Int && offsets->array[1].kind == Json::Int,
                     what, ": missing or malformed data_offsets");
        StoredTensor t;
        t.dtype = dtype->string;
        uint64_t numel = 1;
        for (const Json& d : shape->array) {
            GANOPS_CHECK(d.kind == Json::Int && d.integer >= 0 && d.integer < (int64_t(1) << 40), what,
                         ": bad shape entry");
            t.shape.push_back(d.integer);
            // Checked before multiplying: two extents below 2^40 could wrap 64 bits to 0.
            GANOPS_CHECK(d.integer == 0 || numel < ((uint64_t(1) << 40) + uint64_t(d.integer) - 1) / uint64_t(d.integer), what,
                         ": shape too large");
            numel *= uint64_t(d.integer);
        }
        const int64_t begin = offsets->array[0].integer, end = offsets->array[1].integer;
        GANOPS_CHECK(begin >= 0 && begin <= end && uint64_t(end) <= payload_size, what, ": data_offsets [", begin, ", ",
                     end, "] lie outside the ", payload_size, " data bytes (truncated file?)");
        GANOPS_CHECK(uint64_t(end - begin) == numel * dtype_bytes(t.dtype), what, ": ", end - begin,
                     " data bytes do not hold ", t.dtype, " ", t.shape_str());
        t.bytes.assign(payload + begin, payload + end);
        ranges.emplace_back(begin, end);
        file.tensors.emplace_back(name, std::move(t));
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i)
        GANOPS_CHECK(ranges[i].first >= ranges[i - 1].second, source, ": tensors overlap in the data section (bytes ",
                     ranges[i].first, " and ", ranges[i - 1].first, "..", ranges[i - 1].second, ")");
    return file;
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    GANOPS_CHECK(fd >= 0, "cannot write ", tmp, ": ", errno_text());
    const auto* p = static_cast<const uint8_t*>(data);
    size_t left = size;
    while (left > 0) {
        const ssize_t written = ::write(fd, p, left);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) {
            const std::string why = errno_text();
            ::close(fd);
            ::unlink(tmp.c_str());
            fail("cannot write ", tmp, ": ", why);
        }
        p += written;
        left -= size_t(written);
    }
    // The data must be on disk before the rename makes it the file: otherwise a crash could
    // leave a renamed but empty file in place of the last good one.
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const std::string why = errno_text();
        ::unlink(tmp.c_str());
        fail("cannot write ", tmp, ": ", why);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = errno_text();
        ::unlink(tmp.c_str());
        fail("cannot rename ", tmp, " to ", path, ": ", why);
    }
    const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {  // makes the rename itself durable; best effort where folders cannot be opened
        ::fsync(dir);
        ::close(dir);
    }
}

int remove_stale_temporaries(const std::string& folder) {
    namespace fs = std::filesystem;
    std::error_code ec;
    int removed = 0;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const size_t at = name.rfind(".tmp.");
        if (at == std::string::npos || at == 0 || at + 5 == name.size()) continue;
        const std::string digits = name.substr(at + 5);
        if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
        const pid_t pid = pid_t(std::stol(digits));
        // kill(pid, 0) probes without signalling: ESRCH means no such process.
        if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
            std::error_code remove_error;
            removed += fs::remove(it->path(), remove_error) ? 1 : 0;
        }
    }
    return removed;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, StoredTensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    const std::vector<uint8_t> bytes = encode_safetensors(tensors, metadata);
    write_file_atomic(path, bytes.data(), bytes.size());
}

SafetensorsFile read_safetensors(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    GANOPS_CHECK(in.good(), "cannot open checkpoint ", path, ": ", errno_text());
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    GANOPS_CHECK(size >= 0, "cannot read ", path);
    in.seekg(0);
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    in.read(reinterpret_cast<char*>(bytes.data()), size);
    GANOPS_CHECK(in.good() || (in.eof() && in.gcount() == size), "cannot read ", path);
    return decode_safetensors(bytes.data(), bytes.size(), path);
}

std::vector<std::pair<std::string, StoredTensor>> state_dict(const Module& module, const std::string& prefix) {
    std::vector<std::pair<std::string, StoredTensor>> out;
    for (const auto& [name, t] : module.named_parameters()) out.emplace_back(prefix + name, stored_from_tensor(t));
    for (const auto& [name, t] : module.named_buffers()) out.emplace_back(prefix + name, stored_from_tensor(t));
    std::vector<std::pair<std::string, BatchNorm2d*>> bns;
    collect_batchnorms(module, "", bns);
    for (const auto& [p, bn] : bns) out.emplace_back(prefix + p + "num_batches_tracked", stored_i64_scalar(bn->num_batches_tracked));
    return out;
}

void load_state_dict(Module& module, const SafetensorsFile& file, const std::string& source, const std::string& prefix,
                     bool strict, bool allow_nonfinite) {
    struct Target {
        std::string name;
        Tensor tensor;               // a parameter or buffer
        BatchNorm2d* bn = nullptr;   // or a num_batches_tracked counter
    };
    std::vector<Target> targets;
    for (const auto& [name, t] : module.named_parameters()) targets.push_back({name, t, nullptr});
    for (const auto& [name, t] : module.named_buffers()) targets.push_back({name, t, nullptr});
    std::vector<std::pair<std::string, BatchNorm2d*>> bns;
    collect_batchnorms(module, "", bns);
    for (const auto& [p, bn] : bns) targets.push_back({p + "num_batches_tracked", Tensor(), bn});

    // Check everything first, then write: a bad file leaves the module as it was.
    struct Step {
        const Target* target;
        const StoredTensor* stored;
        Tensor values;  // converted to the target's dtype (empty for counters)
    };
    std::vector<Step> plan;
    std::set<std::string> expected;
    for (const Target& target : targets) {
        const std::string full = prefix + target.name;
        expected.insert(full);
        const StoredTensor* s = file.find(full);
        if (!s) {
            GANOPS_CHECK(!strict, source, ": missing tensor \"", full, "\" (the file does not fit this model)");
            continue;
        }
        if (target.bn) {
            i64_scalar_from_stored(*s, source + ": tensor \"" + full + "\"");
        } else {
            const Shape& want = target.tensor.shape();
            const bool same = s->shape.size() == size_t(want.ndim()) && std::equal(s->shape.begin(), s->shape.end(), want.begin());
            GANOPS_CHECK(same, source, ": tensor \"", full, "\" has shape ", s->shape_str(), " but the model expects ", want,
                         " (was it saved with other --nz/--ngf/--ndf/--nc/--imageSize?)");
            GANOPS_CHECK(s->dtype == "F32" || s->dtype == "F64" || s->dtype == "F16" || s->dtype == "BF16", source,
                         ": tensor \"", full, "\" has dtype ", s->dtype, ", not a floating-point type");
            Tensor values = tensor_from_stored(*s, target.tensor.dtype());
            if (!allow_nonfinite) check_finite(values, source + ": tensor \"" + full + "\"");
            plan.push_back({&target, s, values});
            continue;
        }
        plan.push_back({&target, s, Tensor()});
    }
    if (strict)
        for (const auto& [name, t] : file.tensors)
            GANOPS_CHECK(name.rfind(prefix, 0) != 0 || expected.count(name), source, ": unexpected tensor \"", name,
                         "\" (the file does not fit this model)");
    NoGradGuard no_grad;
    for (const Step& step : plan) {
        if (step.target->bn) step.target->bn->num_batches_tracked = i64_scalar_from_stored(*step.stored, source);
        else step.target->tensor.copy_from(step.values);
    }
}

void save_state_dict(const Module& module, const std::string& path, const std::map<std::string, std::string>& metadata) {
    std::map<std::string, std::string> meta = metadata;
    meta.emplace("format", "pt");  // what safetensors.torch writes
    write_safetensors(path, state_dict(module), meta);
}

std::map<std::string, std::string> load_state_dict(Module& module, const std::string& path) {
    const SafetensorsFile file = read_safetensors(path);
    load_state_dict(module, file, path);
    return file.metadata;
}

}  // namespace ganops::nn
