#include "gdbstub/PacketFraming.h"

#include <cstdio>

#include "gdbstub/PacketParser.h"

namespace rwd::gdbstub {

namespace {
constexpr char kInterrupt = 0x03;
}  // namespace

void PacketDecoder::feed(std::string_view bytes, std::vector<ClientEvent>& out) {
  for (char c : bytes) {
    switch (state_) {
      case State::Idle:
        // Between frames only acks, nacks, the interrupt byte and the start
        // of a frame mean anything; line noise is dropped, as gdbserver does.
        if (c == '$') {
          state_ = State::Body;
          body_.clear();
          oversize_ = false;
          sum_ = 0;
        } else if (c == '+') {
          out.push_back({ClientEvent::Kind::Ack, {}});
        } else if (c == '-') {
          out.push_back({ClientEvent::Kind::Nack, {}});
        } else if (c == kInterrupt) {
          out.push_back({ClientEvent::Kind::Interrupt, {}});
        }
        break;
      case State::Body:
        if (c == '#') {
          state_ = State::Checksum1;
          break;
        }
        if (c == '$') {
          // '$' never appears unescaped inside a frame: the client gave up
          // on the last one (or we joined mid-frame). Start over.
          body_.clear();
          oversize_ = false;
          sum_ = 0;
          break;
        }
        sum_ = static_cast<uint8_t>(sum_ + static_cast<uint8_t>(c));
        // Keep counting the checksum of an oversize frame, but stop storing
        // it: its end still has to be found to stay in sync with the client.
        if (body_.size() < kMaxPacketSize)
          body_.push_back(c);
        else
          oversize_ = true;
        break;
      case State::Checksum1:
      case State::Checksum2: {
        int digit = hex_digit_value(c);
        if (digit < 0) {
          // Not a checksum digit: the frame is corrupt. Nack it so that the
          // client resends.
          state_ = State::Idle;
          out.push_back({ClientEvent::Kind::BadChecksum, {}});
          break;
        }
        if (state_ == State::Checksum1) {
          received_sum_ = digit << 4;
          state_ = State::Checksum2;
          break;
        }
        received_sum_ |= digit;
        state_ = State::Idle;
        if (verify_checksums_ && received_sum_ != sum_) {
          out.push_back({ClientEvent::Kind::BadChecksum, {}});
        } else if (oversize_) {
          out.push_back({ClientEvent::Kind::Rejected, "packet longer than PacketSize"});
        } else {
          // A broken run-length encoding is rejected rather than nacked: the
          // checksum was right, so a resend would carry the same bytes.
          std::string decoded;
          if (run_length_decode(body_, decoded))
            out.push_back({ClientEvent::Kind::Packet, std::move(decoded)});
          else
            out.push_back({ClientEvent::Kind::Rejected, "bad run-length encoding"});
        }
        break;
      }
    }
  }
}

uint8_t checksum(std::string_view body) {
  uint8_t sum = 0;
  for (char c : body) sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
  return sum;
}

std::string frame_packet(std::string_view body) {
  std::string out;
  out.reserve(body.size() + 4);
  out.push_back('$');
  out.append(body);
  out.push_back('#');
  append_hex_byte(out, checksum(body));
  return out;
}

std::string escape_binary(std::string_view data) {
  std::string out;
  out.reserve(data.size());
  for (char c : data) {
    if (c == '$' || c == '#' || c == '}' || c == '*') {
      out.push_back('}');
      out.push_back(static_cast<char>(c ^ 0x20));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool run_length_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '*') {
      out.push_back(c);
      continue;
    }
    // The manual: the repeat count is the next byte minus 29, and the
    // encoder never produces counts whose byte would be '#' or '$'.
    if (out.empty() || i + 1 >= in.size()) return false;
    int count = static_cast<uint8_t>(in[++i]) - 29;
    if (count < 3 || count > 97) return false;
    if (out.size() + count > kMaxPacketSize) return false;
    out.append(static_cast<size_t>(count), out.back());
  }
  return true;
}

std::string printable(std::string_view bytes) {
  constexpr size_t kMaxShown = 400;
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out.append(buf);
    }
  }
  if (bytes.size() > kMaxShown) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

}  // namespace rwd::gdbstub
