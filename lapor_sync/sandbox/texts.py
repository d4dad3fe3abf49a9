"""Generated Indonesian complaint texts and FAKE personal data for the sandbox.

Everything here is a pure function of the ``random.Random`` passed in, so a world built
from one seed always holds the same texts. The people are invented: names from common
Indonesian given names and family names, phone numbers in the 08xx/+62 formats, NIK-like
16-digit numbers with a Lampung region prefix, e-mail addresses at ``example.id`` (a
domain no one can own). They look real on purpose: the connector's tests search every log
line for them to prove personal data never leaks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_GIVEN = (
    "Budi", "Siti", "Agus", "Dewi", "Andi", "Rina", "Joko", "Sri", "Hendra", "Wahyuni",
    "Rudi", "Fitri", "Eko", "Nurul", "Bambang", "Yuliana", "Ahmad", "Ratna", "Dedi",
    "Lestari", "Irfan", "Maya", "Teguh", "Indah", "Fajar", "Putri", "Arif", "Nia",
    "Slamet", "Ayu", "Rizki", "Kartini", "Yusuf", "Anisa", "Taufik", "Mega",
)
_FAMILY = (
    "Santoso", "Wijaya", "Saputra", "Lestari", "Hidayat", "Pratama", "Kusuma", "Setiawan",
    "Nugroho", "Rahmawati", "Siregar", "Harahap", "Susanto", "Gunawan", "Permata",
    "Kurniawan", "Syahputra", "Handayani", "Firmansyah", "Utami", "Ramadhan", "Maulana",
)
_DISTRICTS = (
    ("Kedaton", "1871"), ("Rajabasa", "1871"), ("Way Halim", "1871"),
    ("Sukarame", "1871"), ("Tanjung Karang Barat", "1871"), ("Teluk Betung Selatan", "1871"),
    ("Kemiling", "1871"), ("Natar", "1801"), ("Kalianda", "1801"), ("Jati Agung", "1801"),
    ("Tanjung Bintang", "1801"), ("Sidomulyo", "1801"), ("Penengahan", "1801"),
)
_ROADS = (
    "Jl. Soekarno-Hatta", "Jl. Teuku Umar", "Jl. ZA Pagar Alam", "Jl. Ryacudu",
    "Jl. Raden Intan", "Jl. Kartini", "Jl. Sultan Agung", "Jl. Lintas Sumatera",
    "Jl. Pramuka", "Jl. Imam Bonjol", "Jl. Way Sekampung", "Jl. Raya Natar",
)
_SCHOOLS = ("SMAN 2", "SMAN 9", "SMKN 4", "SMAN 1", "SLB Negeri", "SMAN 14")

_TOPICS: dict[int, tuple[tuple[str, str, str], ...]] = {
    # category id: (title, content, tag); {road}, {district}, {school}, {n} are filled in
    1: (
        ("Pungutan uang komite di {school} {district}",
         "Sekolah meminta sumbangan komite sebesar Rp{n}00.000 per siswa dan rapor ditahan "
         "bagi yang belum membayar. Apakah ini dibenarkan?", "pendidikan"),
        ("Kuota zonasi SPMB di {school} tidak transparan",
         "Pengumuman hasil seleksi jalur zonasi tidak mencantumkan jarak rumah. Anak kami "
         "yang rumahnya {n}00 meter dari sekolah tidak diterima.", "spmb"),
        ("Atap ruang kelas {school} {district} bocor",
         "Sudah {n} bulan atap ruang kelas bocor, siswa belajar di lantai saat hujan.",
         "sekolah"),
    ),
    2: (
        ("Antrean panjang di Puskesmas {district}",
         "Pasien harus antre sejak subuh dan loket baru buka pukul 09.00. Lansia menunggu "
         "lebih dari {n} jam tanpa tempat duduk.", "puskesmas"),
        ("Pasien BPJS ditolak di RSUD",
         "Keluarga kami peserta BPJS Kesehatan aktif tetapi diminta membayar obat sendiri "
         "sebesar Rp{n}50.000.", "bpjs"),
        ("Stok obat kosong di Puskesmas {district}",
         "Obat hipertensi kosong sejak {n} minggu, pasien disuruh membeli di apotek luar.",
         "obat"),
    ),
    3: (
        ("Jalan rusak parah di {road} {district}",
         "Lubang besar di {road} sepanjang kurang lebih {n}00 meter, sudah beberapa pengendara "
         "motor terjatuh terutama malam hari.", "jalanrusak"),
        ("Penerangan jalan umum mati di {road}",
         "Lampu PJU di sepanjang {road} mati sudah {n} minggu sehingga rawan begal.", "pju"),
    ),
    31: (
        ("Perbaikan {road} tidak selesai",
         "Galian di {road} {district} ditinggalkan kontraktor sejak {n} bulan lalu tanpa "
         "rambu pengaman.", "jalanrusak"),
    ),
    32: (
        ("Jembatan gantung di {district} hampir putus",
         "Papan jembatan lapuk dan kawat penahan berkarat, anak-anak sekolah tetap melintas "
         "setiap hari. Mohon segera diperbaiki sebelum ada korban.", "jembatan"),
    ),
    33: (
        ("Drainase tersumbat menyebabkan banjir di {district}",
         "Setiap hujan deras air masuk ke rumah warga setinggi {n}0 cm karena saluran di "
         "{road} tersumbat sampah dan tidak pernah dikeruk.", "banjir"),
    ),
    34: (
        ("Air PDAM tidak mengalir di {district}",
         "Sudah {n} hari air PDAM tidak mengalir tetapi tagihan tetap datang penuh.",
         "airbersih"),
    ),
    4: (
        ("Pembuangan limbah pabrik ke sungai di {district}",
         "Air sungai berwarna hitam dan berbau menyengat setiap malam, ikan banyak mati.",
         "limbah"),
        ("Sampah menumpuk di TPS {road}",
         "Sampah tidak diangkut selama {n} minggu dan meluber ke badan jalan.", "sampah"),
    ),
    5: (
        ("Pungli juru parkir di {road}",
         "Juru parkir meminta Rp{n}.000 tanpa karcis resmi di depan pertokoan {road}.",
         "parkir"),
        ("Angkutan umum trayek {district} berhenti beroperasi",
         "Sejak {n} bulan tidak ada angkutan umum, pelajar harus berjalan jauh.", "angkutan"),
    ),
    6: (
        ("Pendataan DTKS di {district} tidak tepat sasaran",
         "Warga mampu menerima bantuan sementara lansia miskin di RT kami tidak terdata.",
         "dtks"),
    ),
    61: (
        ("Bantuan PKH belum cair di {district}",
         "Bantuan PKH tahap ini belum diterima padahal nama kami tercantum sebagai penerima. "
         "Sudah {n} kali menanyakan ke pendamping.", "bansos"),
    ),
    7: (
        ("Tanggul jebol di {district} setelah hujan deras",
         "Tanggul sungai jebol sepanjang {n}0 meter, puluhan rumah terendam dan warga butuh "
         "bantuan logistik.", "bencana"),
    ),
    8: (
        ("Pengurusan izin usaha lambat",
         "Permohonan izin melalui OSS sudah {n} minggu belum diverifikasi oleh dinas.",
         "perizinan"),
        ("Izin bangunan di {road} diduga tanpa PBG",
         "Bangunan ruko berdiri di atas saluran air di {road} {district}, apakah ada izinnya?",
         "pbg"),
    ),
    9: (
        ("KTP elektronik belum jadi setelah {n} bulan",
         "Rekam KTP-el di Disdukcapil sudah lama, setiap datang dijawab blangko habis.",
         "adminduk"),
    ),
    10: (
        ("Pelayanan kantor kelurahan {district} tidak ramah",
         "Petugas tidak berada di tempat pada jam kerja dan warga diminta datang lagi.",
         "pelayanan"),
    ),
}

_OPENINGS = ("Selamat siang Bapak/Ibu. ", "Assalamualaikum. ", "Yth. Admin LAPOR!, ", "")
_CLOSINGS = (" Mohon segera ditindaklanjuti. Terima kasih.", " Terima kasih 🙏",
             " Mohon perhatiannya.", "")

_FOLLOWUPS = (
    "Terima kasih atas laporan Saudara. Laporan telah kami teruskan ke bidang terkait dan "
    "akan dilakukan peninjauan lapangan minggu ini.",
    "Tim kami sudah melakukan pengecekan ke lokasi pada hari {day}. Perbaikan dijadwalkan "
    "dalam anggaran tahun berjalan.",
    "Laporan sudah ditindaklanjuti. Petugas telah berkoordinasi dengan pihak kecamatan dan "
    "permasalahan telah diselesaikan.",
    "Mohon Saudara melengkapi informasi lokasi (nama jalan/RT) agar dapat kami tindak lanjuti.",
    "Permasalahan tersebut merupakan kewenangan pemerintah kabupaten/kota; kami telah "
    "berkoordinasi dengan dinas terkait.",
)
_REPLIES = (
    "Sampai hari ini belum ada perbaikan sama sekali.",
    "Terima kasih, sudah ada petugas yang datang ke lokasi.",
    "Jawaban ini tidak sesuai dengan kondisi di lapangan, mohon dicek kembali.",
    "Lokasinya di dekat masjid, RT 03 RW 02.",
    "Alhamdulillah sudah diperbaiki, terima kasih banyak 🙏",
)
_ADMIN_NOTES = (
    "Mohon instansi terkait segera menindaklanjuti laporan ini.",
    "Laporan telah melewati batas waktu tindak lanjut, mohon segera ditanggapi.",
)
_DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat")

TOPIC_CATEGORIES: tuple[int, ...] = tuple(_TOPICS)


@dataclass(frozen=True, slots=True)
class Person:
    """A fake reporter. ``nik`` is a 16-digit NIK-like number (never a real one)."""

    name: str
    phone: str
    email: str
    nik: str

    def __repr__(self) -> str:
        return "Person(<redacted>)"


def make_person(rng: random.Random) -> Person:
    given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
    prefix = rng.choice(("0812", "0813", "0821", "0852", "0878", "0896"))
    body = f"{rng.randrange(10**7, 10**8):08d}"
    phone = rng.choice((
        f"{prefix}-{body[:4]}-{body[4:]}",
        f"+62{prefix[1:]}{body}",
        f"{prefix}{body}",
    ))
    email = f"{given.lower()}.{family.lower()}{rng.randrange(1, 99)}@example.id"
    day = rng.randrange(1, 29) + (40 if rng.random() < 0.5 else 0)
    nik = (
        f"18{rng.choice(('71', '01', '04', '07'))}{rng.randrange(1, 30):02d}"
        f"{day:02d}{rng.randrange(1, 13):02d}{rng.randrange(60, 100):02d}"
        f"{rng.randrange(1, 9999):04d}"
    )
    return Person(f"{given} {family}", phone, email, nik)


def make_complaint_text(
    rng: random.Random, category_id: int, person: Person | None, *, leak_chance: float = 0.25
) -> tuple[str, str, list[str]]:
    """A (title, content, tags) triple; the content may carry the person's NIK and phone."""
    title_t, content_t, tag = rng.choice(_TOPICS.get(category_id, _TOPICS[10]))
    district, _ = rng.choice(_DISTRICTS)
    slots = {
        "road": rng.choice(_ROADS), "district": district,
        "school": f"{rng.choice(_SCHOOLS)} {district}", "n": str(rng.randrange(2, 9)),
    }
    title = title_t.format(**slots)
    content = rng.choice(_OPENINGS) + content_t.format(**slots) + rng.choice(_CLOSINGS)
    if person is not None and rng.random() < leak_chance:
        content += (
            f"\nNama saya {person.name}, NIK {person.nik}, dapat dihubungi di {person.phone}."
        )
    tags = [tag] if rng.random() < 0.6 else []
    return title[:150], content, tags


def make_followup_text(rng: random.Random) -> str:
    return rng.choice(_FOLLOWUPS).format(day=rng.choice(_DAYS))


def make_reply_text(rng: random.Random, phone: str | None) -> str:
    text = rng.choice(_REPLIES)
    if phone is not None and rng.random() < 0.15:
        text += f" Hubungi saya di {phone}."
    return text


def make_admin_text(rng: random.Random) -> str:
    return rng.choice(_ADMIN_NOTES)
