# The tools: vd-img (native) and, later, the guest tools.  tools/common/
# holds what every tool shares (names, errors, output rendering).

noinst_LTLIBRARIES += tools/common/libcommon.la
tools_common_libcommon_la_SOURCES = \
	tools/common/common.h \
	tools/common/progname.c \
	tools/common/output.c
tools_common_libcommon_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_common_libcommon_la_LIBADD = $(JANSSON_LIBS)

bin_PROGRAMS += tools/vd-img
tools_vd_img_SOURCES = \
	tools/vd-img.h \
	tools/vd-img.c \
	tools/img-check.c \
	tools/img-create.c \
	tools/img-info.c \
	tools/img-convert.c
tools_vd_img_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_vd_img_LDADD = tools/common/libcommon.la lib/libvd.la $(JANSSON_LIBS) \
	$(LTLIBINTL)
