# inspect/native/: the guest tools' no-appliance path (partition tables,
# ext2/3/4 through libext2fs over libvd, the seccomp sandbox).

if GUEST_TOOLS
noinst_LTLIBRARIES += inspect/native/libnative.la
inspect_native_libnative_la_SOURCES = \
	inspect/native/native.h \
	inspect/native/native-internal.h \
	inspect/native/native.c \
	inspect/native/parttable.h \
	inspect/native/parttable.c \
	inspect/native/extfs.h \
	inspect/native/extfs.c \
	inspect/native/sandbox.h \
	inspect/native/sandbox.c
inspect_native_libnative_la_CFLAGS = $(AM_CFLAGS) $(EXT2FS_CFLAGS) \
	$(SECCOMP_CFLAGS) $(NETTLE_CFLAGS) $(ZLIB_CFLAGS)
inspect_native_libnative_la_LIBADD = lib/libvd.la $(EXT2FS_LIBS) $(COM_ERR_LIBS) \
	$(SECCOMP_LIBS) $(NETTLE_LIBS) $(ZLIB_LIBS)
endif
