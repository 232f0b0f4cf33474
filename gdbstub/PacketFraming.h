// The byte level of the Remote Serial Protocol ("Overview" in the gdb
// manual's "Remote Protocol" appendix): `$body#cs` frames, the '+'/'-'
// acknowledgements and the bare 0x03 interrupt. It knows nothing of what a
// packet means; Session does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rwd::gdbstub {

// The largest packet body we accept, and advertise as PacketSize in
// qSupported. gdb never sends more than the advertised size, so anything
// bigger is a broken client; we answer it with an error instead of buffering
// without bound.
inline constexpr size_t kMaxPacketSize = 0x10000;

// One thing the client sent.
struct ClientEvent {
  enum class Kind {
    Packet,       // a well-formed packet; `body` is its run-length-decoded text
    BadChecksum,  // a frame whose checksum did not match: nack it
    Rejected,     // a frame with a good checksum that cannot be used (longer than
                  // kMaxPacketSize, broken run-length encoding): ack it, reply
                  // with an error; `body` says why
    Ack,          // '+'
    Nack,         // '-': resend the last packet
    Interrupt,    // 0x03 outside a frame: gdb's Ctrl-C
  };
  Kind kind;
  std::string body;
  bool operator==(const ClientEvent&) const = default;
};

// Splits the client's byte stream into events. Bytes may arrive in any
// fragmentation; a frame split across reads is completed by a later feed().
class PacketDecoder {
 public:
  // Appends the events completed by `bytes` to `out`.
  void feed(std::string_view bytes, std::vector<ClientEvent>& out);
  // In no-ack mode nothing would resend a corrupt packet, and some clients
  // then send "#00"; the manual lets the receiver skip the check.
  void set_checksums_verified(bool verified) { verify_checksums_ = verified; }

 private:
  enum class State { Idle, Body, Checksum1, Checksum2 };
  State state_ = State::Idle;
  std::string body_;
  bool oversize_ = false;
  bool verify_checksums_ = true;
  uint8_t sum_ = 0;
  int received_sum_ = 0;
};

// The modulo-256 sum of `body`, as carried after '#'.
uint8_t checksum(std::string_view body);

// Frames `body` as `$body#cs`. The body must already be escaped where it
// carries binary data (escape_binary); text replies never contain $ # } *.
std::string frame_packet(std::string_view body);

// Escapes binary data for a packet: $ # } * become '}' followed by the byte
// xor 0x20 ("Binary Data" in the manual). '*' is escaped too because gdb
// reads it as the start of a run-length encoding in any reply.
std::string escape_binary(std::string_view data);

// Expands the run-length encoding "X*n" (n - 29 further copies of X) that a
// client may use. Returns false on a '*' with nothing to repeat or with a
// count outside the printable range the manual allows.
bool run_length_decode(std::string_view in, std::string& out);

// Renders bytes for a log line: printable ASCII as is, the rest as \xNN, cut
// after a few hundred characters so one big X packet does not flood the log.
std::string printable(std::string_view bytes);

}  // namespace rwd::gdbstub
