#include "gdbstub/TargetDescription.h"

#include "gdbstub/Registers.h"

namespace rwd::gdbstub {

namespace {

struct Feature {
  RegisterFeature id;
  const char* annex;  // the file name gdb asks for
  const char* name;   // the feature name gdb's i386 code looks for
  const char* types;  // type definitions the feature's registers use
};

// Types as gdb/features/i386/64bit-core.xml and 64bit-sse.xml define them.
// The other types we use (int, int32, int64, data_ptr, code_ptr, i387_ext,
// uint128) are built into gdb.
constexpr const char* kCoreTypes = R"(  <flags id="i386_eflags" size="4">
    <field name="CF" start="0" end="0"/>
    <field name="" start="1" end="1"/>
    <field name="PF" start="2" end="2"/>
    <field name="AF" start="4" end="4"/>
    <field name="ZF" start="6" end="6"/>
    <field name="SF" start="7" end="7"/>
    <field name="TF" start="8" end="8"/>
    <field name="IF" start="9" end="9"/>
    <field name="DF" start="10" end="10"/>
    <field name="OF" start="11" end="11"/>
    <field name="NT" start="14" end="14"/>
    <field name="RF" start="16" end="16"/>
    <field name="VM" start="17" end="17"/>
    <field name="AC" start="18" end="18"/>
    <field name="VIF" start="19" end="19"/>
    <field name="VIP" start="20" end="20"/>
    <field name="ID" start="21" end="21"/>
  </flags>
)";

constexpr const char* kSseTypes = R"(  <vector id="v4f" type="ieee_single" count="4"/>
  <vector id="v2d" type="ieee_double" count="2"/>
  <vector id="v16i8" type="int8" count="16"/>
  <vector id="v8i16" type="int16" count="8"/>
  <vector id="v4i32" type="int32" count="4"/>
  <vector id="v2i64" type="int64" count="2"/>
  <union id="vec128">
    <field name="v4_float" type="v4f"/>
    <field name="v2_double" type="v2d"/>
    <field name="v16_int8" type="v16i8"/>
    <field name="v8_int16" type="v8i16"/>
    <field name="v4_int32" type="v4i32"/>
    <field name="v2_int64" type="v2i64"/>
    <field name="uint128" type="uint128"/>
  </union>
  <flags id="i386_mxcsr" size="4">
    <field name="IE" start="0" end="0"/>
    <field name="DE" start="1" end="1"/>
    <field name="ZE" start="2" end="2"/>
    <field name="OE" start="3" end="3"/>
    <field name="UE" start="4" end="4"/>
    <field name="PE" start="5" end="5"/>
    <field name="DAZ" start="6" end="6"/>
    <field name="IM" start="7" end="7"/>
    <field name="DM" start="8" end="8"/>
    <field name="ZM" start="9" end="9"/>
    <field name="OM" start="10" end="10"/>
    <field name="UM" start="11" end="11"/>
    <field name="PM" start="12" end="12"/>
    <field name="FZ" start="15" end="15"/>
  </flags>
)";

constexpr Feature kFeatures[] = {
    {RegisterFeature::Core, "64bit-core.xml", "org.gnu.gdb.i386.core", kCoreTypes},
    {RegisterFeature::Sse, "64bit-sse.xml", "org.gnu.gdb.i386.sse", kSseTypes},
    {RegisterFeature::Linux, "64bit-linux.xml", "org.gnu.gdb.i386.linux", ""},
    {RegisterFeature::Segments, "64bit-segments.xml", "org.gnu.gdb.i386.segments", ""},
    {RegisterFeature::Avx, "64bit-avx.xml", "org.gnu.gdb.i386.avx", ""},
};

constexpr const char* kXmlHeader = "<?xml version=\"1.0\"?>\n";

std::string target_xml(bool with_avx) {
  std::string xml = kXmlHeader;
  xml += "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target>\n";
  xml += "  <architecture>i386:x86-64</architecture>\n";
  xml += "  <osabi>GNU/Linux</osabi>\n";
  for (const Feature& f : kFeatures) {
    if (f.id == RegisterFeature::Avx && !with_avx) continue;
    xml += "  <xi:include href=\"" + std::string(f.annex) + "\"/>\n";
  }
  xml += "</target>\n";
  return xml;
}

std::string feature_xml(const Feature& f) {
  std::string xml = kXmlHeader;
  xml += "<!DOCTYPE feature SYSTEM \"gdb-target.dtd\">\n";
  xml += "<feature name=\"" + std::string(f.name) + "\">\n";
  xml += f.types;
  std::span<const RegisterInfo> regs = amd64_registers();
  for (size_t regnum = 0; regnum < regs.size(); ++regnum) {
    const RegisterInfo& r = regs[regnum];
    if (r.feature != f.id) continue;
    xml += "  <reg name=\"" + std::string(r.name) + "\" bitsize=\"" + std::to_string(r.bitsize) +
           "\" type=\"" + r.type + "\" regnum=\"" + std::to_string(regnum) + "\"";
    if (r.group) xml += " group=\"" + std::string(r.group) + "\"";
    xml += "/>\n";
  }
  xml += "</feature>\n";
  return xml;
}

}  // namespace

std::optional<std::string> target_description_annex(std::string_view annex, bool with_avx) {
  if (annex == "target.xml") return target_xml(with_avx);
  for (const Feature& f : kFeatures) {
    if (annex != f.annex) continue;
    if (f.id == RegisterFeature::Avx && !with_avx) return std::nullopt;
    return feature_xml(f);
  }
  return std::nullopt;
}

}  // namespace rwd::gdbstub
