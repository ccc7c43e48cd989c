# inspect/: guest disks -> libguestfs handle (libvirt domains, launch,
# LUKS, mounting by -m or by inspection).  Used by the guest tools only.

if GUEST_TOOLS
noinst_LTLIBRARIES += inspect/libinspect.la
inspect_libinspect_la_SOURCES = \
	inspect/inspect.h \
	inspect/inspect-internal.h \
	inspect/handle.c \
	inspect/disk-lock.c \
	inspect/libvirt-domain.c \
	inspect/libvirt-domains.c \
	inspect/mount.c \
	inspect/os.c
inspect_libinspect_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/inspect
inspect_libinspect_la_CFLAGS = $(AM_CFLAGS) $(GUESTFS_CFLAGS) \
	$(LIBVIRT_CFLAGS) $(LIBXML2_CFLAGS)
inspect_libinspect_la_LIBADD = lib/libvd.la $(GUESTFS_LIBS) $(LIBVIRT_LIBS) \
	$(LIBXML2_LIBS) $(LTLIBINTL)
endif
