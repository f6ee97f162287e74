fn main() {
    println!("warden");
}
