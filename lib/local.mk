# libvd: the native image core (lib/).  Built as a convenience library
# linked into the tools, unit tests and fuzzers.

noinst_LTLIBRARIES += lib/libvd.la
lib_libvd_la_SOURCES = \
	lib/vd.h \
	lib/vd-internal.h \
	lib/error.c \
	lib/util.c \
	lib/io.c \
	lib/io-file.c \
	lib/io-mem.c \
	lib/format.c \
	lib/image.c \
	lib/info.c \
	lib/create.c \
	lib/check.c \
	lib/snapshot.c \
	lib/fmt-raw.c \
	lib/convert.h \
	lib/convert.c \
	lib/vmdk.h \
	lib/fmt-vmdk.c \
	lib/vmdk-create.c \
	lib/vmdk-descriptor.c \
	lib/vmdk-header.c \
	lib/vmdk-stream.c \
	lib/fmt-vdi.c \
	lib/fmt-vhdx.c \
	lib/vhdx-log.c \
	lib/vhdx.h \
	lib/fmt-vpc.c \
	lib/vhd-util.c \
	lib/vhd-util.h \
	lib/qcow2.h \
	lib/fmt-qcow2.c \
	lib/qcow2-cache.c \
	lib/qcow2-check.c \
	lib/qcow2-cluster.c \
	lib/qcow2-compress.c \
	lib/qcow2-create.c \
	lib/qcow2-refcount.c \
	lib/qcow2-repair.c \
	lib/qcow2-snapshot.c \
	lib/qcow2-snapshot-ops.c \
	lib/qcow2-amend.c \
	lib/chain.c
lib_libvd_la_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS) $(ZSTD_CFLAGS)
lib_libvd_la_LIBADD = $(ZLIB_LIBS) $(ZSTD_LIBS) $(LTLIBINTL) -lm -lpthread
