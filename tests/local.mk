# The test suite (make check).  Every test speaks TAP: cmocka programs
# (CMOCKA_MESSAGE_OUTPUT=TAP) and shell scripts (tests/functions.sh), so
# the summary counts individual checks.

TEST_EXTENSIONS = .sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
SH_LOG_DRIVER = $(LOG_DRIVER)
LOG_COMPILER = $(top_srcdir)/tests/run-wrapper
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	CMOCKA_MESSAGE_OUTPUT=TAP; export CMOCKA_MESSAGE_OUTPUT; \
	MALLOC_PERTURB_=$$(( $$RANDOM % 255 + 1 )); export MALLOC_PERTURB_; \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	LANG=C.UTF-8; LC_ALL=C.UTF-8; export LANG LC_ALL;

EXTRA_DIST += tests/run-wrapper tests/functions.sh

# ---- unit tests (cmocka) -------------------------------------------------
unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -Wno-shadow
unit_ldadd = lib/libvd.la $(CMOCKA_LIBS)

unit_tests = \
	tests/unit/test-util \
	tests/unit/test-io \
	tests/unit/test-fmt-raw \
	tests/unit/test-format \
	tests/unit/test-convert \
	tests/unit/test-qcow2
check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

tests_unit_test_util_SOURCES = tests/unit/test-util.c tests/unit/test-helpers.h
tests_unit_test_util_CFLAGS = $(unit_cflags)
tests_unit_test_util_LDADD = $(unit_ldadd)
tests_unit_test_io_SOURCES = tests/unit/test-io.c
tests_unit_test_io_CFLAGS = $(unit_cflags)
tests_unit_test_io_LDADD = $(unit_ldadd)
tests_unit_test_fmt_raw_SOURCES = tests/unit/test-fmt-raw.c
tests_unit_test_fmt_raw_CFLAGS = $(unit_cflags)
tests_unit_test_fmt_raw_LDADD = $(unit_ldadd)
tests_unit_test_format_SOURCES = tests/unit/test-format.c
tests_unit_test_format_CFLAGS = $(unit_cflags)
tests_unit_test_format_LDADD = $(unit_ldadd)
tests_unit_test_convert_SOURCES = tests/unit/test-convert.c
tests_unit_test_convert_CFLAGS = $(unit_cflags)
tests_unit_test_convert_LDADD = $(unit_ldadd) -lpthread
tests_unit_test_qcow2_SOURCES = tests/unit/test-qcow2.c
tests_unit_test_qcow2_CFLAGS = $(unit_cflags)
tests_unit_test_qcow2_LDADD = $(unit_ldadd)

unit_tests += \
	tests/unit/test-vmdk-descriptor \
	tests/unit/test-fmt-vmdk \
	tests/unit/test-vmdk-files
tests_unit_test_vmdk_descriptor_SOURCES = tests/unit/test-vmdk-descriptor.c
tests_unit_test_vmdk_descriptor_CFLAGS = $(unit_cflags)
tests_unit_test_vmdk_descriptor_LDADD = $(unit_ldadd)
tests_unit_test_fmt_vmdk_SOURCES = tests/unit/test-fmt-vmdk.c
tests_unit_test_fmt_vmdk_CFLAGS = $(unit_cflags) $(ZLIB_CFLAGS)
tests_unit_test_fmt_vmdk_LDADD = $(unit_ldadd) $(ZLIB_LIBS)
tests_unit_test_vmdk_files_SOURCES = tests/unit/test-vmdk-files.c \
	tests/unit/test-helpers.h
tests_unit_test_vmdk_files_CFLAGS = $(unit_cflags)
tests_unit_test_vmdk_files_LDADD = $(unit_ldadd)

# vdi, vhdx and vpc drivers.
vhd_unit_tests = \
	tests/unit/test-fmt-vdi \
	tests/unit/test-fmt-vhdx \
	tests/unit/test-fmt-vpc
check_PROGRAMS += $(vhd_unit_tests)
TESTS += $(vhd_unit_tests)
tests_unit_test_fmt_vdi_SOURCES = tests/unit/test-fmt-vdi.c \
	tests/unit/test-vhd-helpers.h
tests_unit_test_fmt_vdi_CFLAGS = $(unit_cflags)
tests_unit_test_fmt_vdi_LDADD = $(unit_ldadd)
tests_unit_test_fmt_vhdx_SOURCES = tests/unit/test-fmt-vhdx.c \
	tests/unit/test-vhd-helpers.h
tests_unit_test_fmt_vhdx_CFLAGS = $(unit_cflags)
tests_unit_test_fmt_vhdx_LDADD = $(unit_ldadd)
tests_unit_test_fmt_vpc_SOURCES = tests/unit/test-fmt-vpc.c \
	tests/unit/test-vhd-helpers.h
tests_unit_test_fmt_vpc_CFLAGS = $(unit_cflags)
tests_unit_test_fmt_vpc_LDADD = $(unit_ldadd)

# ---- tool tests (shell) --------------------------------------------------
tool_tests = \
	tests/tools/check.sh \
	tests/tools/create.sh \
	tests/tools/create-errors.sh \
	tests/tools/info.sh \
	tests/tools/help.sh \
	tests/tools/man-options.sh \
	tests/tools/style.sh \
	tests/tools/convert.sh \
	tests/tools/convert-errors.sh \
	tests/tools/convert-signal.sh \
	tests/tools/vmdk-create.sh \
	tests/tools/vmdk-hostile.sh \
	tests/tools/qcow2-corrupt.sh
TESTS += $(tool_tests)
EXTRA_DIST += $(tool_tests)

# ---- interop tests against qemu-img --------------------------------------
interop_tests = \
	tests/interop/raw-info.sh \
	tests/interop/convert.sh \
	tests/interop/vmdk.sh \
	tests/interop/qcow2-write.sh \
	tests/interop/qcow2-read.sh \
	tests/interop/qcow2-create.sh \
	tests/interop/qcow2-info.sh \
	tests/interop/qcow2-check.sh \
	tests/interop/qcow2-snapshot.sh \
	tests/interop/qcow2-crash.sh
TESTS += $(interop_tests)
EXTRA_DIST += $(interop_tests) tests/interop/qcow2-lib.sh

# vd-img's backing-chain and sizing subcommands against qemu-img.
chain_interop_tests = \
	tests/interop/img-map.sh \
	tests/interop/img-compare.sh \
	tests/interop/img-measure.sh \
	tests/interop/img-resize.sh \
	tests/interop/img-commit-rebase.sh \
	tests/interop/img-amend.sh \
	tests/interop/img-workflow.sh
TESTS += $(chain_interop_tests)
EXTRA_DIST += $(chain_interop_tests)

# vdio: drives libvd from the shell tests (as qemu-io drives qemu).
check_PROGRAMS += tests/interop/vdio
tests_interop_vdio_SOURCES = tests/interop/vdio.c
tests_interop_vdio_LDADD = lib/libvd.la

# vmdkio: drives libvd from the VMDK shell tests (write/read/zero/map).
check_PROGRAMS += tests/interop/vmdkio
tests_interop_vmdkio_SOURCES = tests/interop/vmdkio.c
tests_interop_vmdkio_LDADD = lib/libvd.la

# vdi, vhdx and vpc (VHD): vhdio drives libvd from the shell tests.
check_PROGRAMS += tests/interop/vhdio
tests_interop_vhdio_SOURCES = tests/interop/vhdio.c
tests_interop_vhdio_LDADD = lib/libvd.la
vhd_interop_tests = \
	tests/interop/vdi.sh \
	tests/interop/vhdx.sh \
	tests/interop/vpc.sh
TESTS += $(vhd_interop_tests)
EXTRA_DIST += $(vhd_interop_tests) tests/interop/vhd-functions.sh

# ---- fuzzing (clang -fsanitize=fuzzer; ./configure --enable-fuzzing) ----
EXTRA_DIST += tests/fuzz/fuzz-image.c tests/fuzz/run-fuzz.sh
if FUZZING
fuzz_cflags = $(AM_CFLAGS)
noinst_PROGRAMS += tests/fuzz/fuzz-image
tests_fuzz_fuzz_image_SOURCES = tests/fuzz/fuzz-image.c
tests_fuzz_fuzz_image_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_image_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_image_LDADD = lib/libvd.la
# The same harness with the format fixed: every input goes to the VMDK
# driver, probed or not.
noinst_PROGRAMS += tests/fuzz/fuzz-vmdk
tests_fuzz_fuzz_vmdk_SOURCES = tests/fuzz/fuzz-image.c
tests_fuzz_fuzz_vmdk_CFLAGS = $(fuzz_cflags) -DFUZZ_FORMAT='"vmdk"'
tests_fuzz_fuzz_vmdk_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_vmdk_LDADD = lib/libvd.la

noinst_PROGRAMS += tests/fuzz/fuzz-vdi tests/fuzz/fuzz-vhdx tests/fuzz/fuzz-vpc
tests_fuzz_fuzz_vdi_SOURCES = tests/fuzz/fuzz-image.c
tests_fuzz_fuzz_vdi_CFLAGS = $(fuzz_cflags) -DFUZZ_FORMAT='"vdi"'
tests_fuzz_fuzz_vdi_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_vdi_LDADD = lib/libvd.la
tests_fuzz_fuzz_vhdx_SOURCES = tests/fuzz/fuzz-image.c
tests_fuzz_fuzz_vhdx_CFLAGS = $(fuzz_cflags) -DFUZZ_FORMAT='"vhdx"'
tests_fuzz_fuzz_vhdx_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_vhdx_LDADD = lib/libvd.la
tests_fuzz_fuzz_vpc_SOURCES = tests/fuzz/fuzz-image.c
tests_fuzz_fuzz_vpc_CFLAGS = $(fuzz_cflags) -DFUZZ_FORMAT='"vpc"'
tests_fuzz_fuzz_vpc_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_vpc_LDADD = lib/libvd.la

# The same harness held to qcow2 (no probing: every input is a qcow2).
noinst_PROGRAMS += tests/fuzz/fuzz-qcow2
tests_fuzz_fuzz_qcow2_SOURCES = tests/fuzz/fuzz-image.c
tests_fuzz_fuzz_qcow2_CFLAGS = $(fuzz_cflags) -DFUZZ_FORMAT='"qcow2"'
tests_fuzz_fuzz_qcow2_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_qcow2_LDADD = lib/libvd.la
endif

# ---- rendering (tools/common/render.c) -----------------------------------
unit_tests_render = tests/unit/test-render
check_PROGRAMS += $(unit_tests_render)
TESTS += $(unit_tests_render)
tests_unit_test_render_SOURCES = tests/unit/test-render.c
tests_unit_test_render_CFLAGS = $(unit_cflags) $(JANSSON_CFLAGS)
tests_unit_test_render_LDADD = tools/common/libcommon.la $(unit_ldadd) \
	$(JANSSON_LIBS)

# ---- guest tools (libguestfs) ---------------------------------------------
# Unit tests need no appliance; tests/tools/guest-*.sh launch none (they
# run in every pass); tests/guest/*.sh launch the appliance on the fixture
# guests of tests/fixtures/make-guests.sh and run in the main pass only.
EXTRA_DIST += tests/fixtures/make-guests.sh tests/guest/guest-functions.sh \
	tests/guest/test-node.xml tests/guest/linux-lR.expected \
	tests/guest/linux-csv.expected
EXTRA_DIST += tests/guest/df-node.xml \
	tests/guest/df-linux.expected tests/guest/df-linux-h.expected \
	tests/guest/df-lvm-i.expected
if GUEST_TOOLS
unit_tests_guest = tests/unit/test-libvirt-domain
check_PROGRAMS += $(unit_tests_guest)
TESTS += $(unit_tests_guest)
tests_unit_test_libvirt_domain_SOURCES = tests/unit/test-libvirt-domain.c
tests_unit_test_libvirt_domain_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/inspect
tests_unit_test_libvirt_domain_CFLAGS = $(unit_cflags) $(GUESTFS_CFLAGS)
tests_unit_test_libvirt_domain_LDADD = inspect/libinspect.la $(unit_ldadd)

# vd-inspect's JSON and XML from synthetic reports (no appliance).
check_PROGRAMS += tests/unit/test-inspect-render
TESTS += tests/unit/test-inspect-render
tests_unit_test_inspect_render_SOURCES = tests/unit/test-inspect-render.c \
	tools/inspect-render.c
tests_unit_test_inspect_render_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/inspect -I$(top_srcdir)/tools
tests_unit_test_inspect_render_CFLAGS = $(unit_cflags) $(GUESTFS_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBXML2_CFLAGS)
tests_unit_test_inspect_render_LDADD = tools/common/libcommon.la \
	$(unit_ldadd) $(JANSSON_LIBS) $(LIBXML2_LIBS)

# vd-inspect's JSON back into a report and out through its XML renderer,
# for tests/guest/inspect.sh (one launch, both outputs).
check_PROGRAMS += tests/guest/inspect-json2xml
tests_guest_inspect_json2xml_SOURCES = tests/guest/inspect-json2xml.c \
	tools/inspect-render.c
tests_guest_inspect_json2xml_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/inspect -I$(top_srcdir)/tools
tests_guest_inspect_json2xml_CFLAGS = $(AM_CFLAGS) $(GUESTFS_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBXML2_CFLAGS)
tests_guest_inspect_json2xml_LDADD = inspect/libinspect.la \
	tools/common/libcommon.la lib/libvd.la $(GUESTFS_LIBS) \
	$(JANSSON_LIBS) $(LIBXML2_LIBS)
# vd-df's rendering, thresholds and names: no appliance.
unit_tests_df = tests/unit/test-df-output
check_PROGRAMS += $(unit_tests_df)
TESTS += $(unit_tests_df)
tests_unit_test_df_output_SOURCES = tests/unit/test-df-output.c \
	tools/df-output.c tools/df-names.c tools/df.h
tests_unit_test_df_output_CFLAGS = $(unit_cflags) $(JANSSON_CFLAGS)
tests_unit_test_df_output_LDADD = tools/common/libcommon.la $(unit_ldadd) \
	$(JANSSON_LIBS) -lm
endif

guest_tool_tests = \
	tests/tools/guest-errors.sh \
	tests/tools/man-options-guest.sh \
	tests/tools/inspect-errors.sh \
	tests/tools/df.sh
TESTS += $(guest_tool_tests)
EXTRA_DIST += $(guest_tool_tests)

guest_tests = \
	tests/guest/ls.sh \
	tests/guest/ls-modes.sh \
	tests/guest/lvm.sh \
	tests/guest/cat.sh \
	tests/guest/errors.sh \
	tests/guest/inspect.sh \
	tests/guest/df.sh
TESTS += $(guest_tests)
EXTRA_DIST += $(guest_tests)

# ---- the guest tools' native path (inspect/native/) ----------------------
if GUEST_TOOLS
native_unit_tests = tests/unit/test-parttable tests/unit/test-native-sandbox
check_PROGRAMS += $(native_unit_tests)
TESTS += $(native_unit_tests)
tests_unit_test_parttable_SOURCES = tests/unit/test-parttable.c
tests_unit_test_parttable_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/inspect/native
tests_unit_test_parttable_CFLAGS = $(unit_cflags)
tests_unit_test_parttable_LDADD = inspect/native/libnative.la $(unit_ldadd)
tests_unit_test_native_sandbox_SOURCES = tests/unit/test-native-sandbox.c
tests_unit_test_native_sandbox_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/inspect/native
tests_unit_test_native_sandbox_CFLAGS = $(unit_cflags) $(EXT2FS_CFLAGS)
tests_unit_test_native_sandbox_LDADD = inspect/native/libnative.la \
	$(unit_ldadd)
TESTS += tests/tools/native.sh tests/guest/native.sh
endif
EXTRA_DIST += tests/tools/native.sh tests/guest/native.sh
EXTRA_DIST += tests/fuzz/fuzz-parttable.c tests/fuzz/fuzz-native.c
if FUZZING
if GUEST_TOOLS
noinst_PROGRAMS += tests/fuzz/fuzz-parttable tests/fuzz/fuzz-native
tests_fuzz_fuzz_parttable_SOURCES = tests/fuzz/fuzz-parttable.c
tests_fuzz_fuzz_parttable_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/inspect/native
tests_fuzz_fuzz_parttable_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_parttable_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_parttable_LDADD = inspect/native/libnative.la lib/libvd.la
tests_fuzz_fuzz_native_SOURCES = tests/fuzz/fuzz-native.c
tests_fuzz_fuzz_native_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/inspect/native
tests_fuzz_fuzz_native_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_native_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_native_LDADD = inspect/native/libnative.la lib/libvd.la
endif
endif
# ---- vd-edit's -e language (tools/edit-expr.c) -----------------------------
unit_tests_edit = tests/unit/test-edit-expr
check_PROGRAMS += $(unit_tests_edit)
TESTS += $(unit_tests_edit)
tests_unit_test_edit_expr_SOURCES = tests/unit/test-edit-expr.c \
	tools/edit-expr.c tools/edit-expr.h
tests_unit_test_edit_expr_CFLAGS = $(unit_cflags) $(JANSSON_CFLAGS)
tests_unit_test_edit_expr_LDADD = $(unit_ldadd)

# vd-edit: errors found before any launch (every pass), and appliance
# runs on copies of the fixture guests (main pass only; 2 launches).
edit_tests = \
	tests/tools/edit-errors.sh \
	tests/guest/edit-expr.sh \
	tests/guest/edit-editor.sh
TESTS += $(edit_tests)
EXTRA_DIST += $(edit_tests)
# Timing against virt-edit (run by hand, not by make check).
EXTRA_DIST += bench/edit.sh
